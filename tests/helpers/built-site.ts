/**
 * The production build (`vite build`) for the browser tests, made once per test run and label and
 * shared by every file that serves it; and a plain static host for it in a sub-folder, as on GitHub
 * Pages. The label is the build's name (TOKENSCOPE_BUILD_ID) that the site test tells deploys apart by.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { inject } from 'vitest';
import type { SiteManifest } from '../../src/site/offline-plugin';
import { serveStatic, type StaticServer } from './static-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where built sites are kept for this run (tests/helpers/built-sites.setup.ts). */
    builtSites: string;
  }
}

export interface BuiltSite {
  dir: string;
  manifest: SiteManifest;
}

/** The site built under `label`: built by the first file that asks in this run, then reused. */
export async function builtSite(label: string): Promise<BuiltSite> {
  const dir = join(inject('builtSites'), label);
  const done = join(dir, '..', `${label}.built`);
  if (!existsSync(done)) {
    process.env.TOKENSCOPE_BUILD_ID = label;
    try {
      await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir: dir, emptyOutDir: true } });
    } finally {
      delete process.env.TOKENSCOPE_BUILD_ID;
    }
    writeFileSync(done, '');
  }
  const manifest = JSON.parse(/^const MANIFEST = (.*);$/m.exec(readFileSync(join(dir, 'sw.js'), 'utf8'))![1]) as SiteManifest;
  return { dir, manifest };
}

/** A static host that sets no headers, serving `site` at /sub/tokenscope/ (requests recorded); `close` takes it down. */
export async function hostInSubfolder(site: BuiltSite): Promise<StaticServer & { url: string }> {
  const root = mkdtempSync(join(tmpdir(), 'tokenscope-host-'));
  mkdirSync(join(root, 'sub'));
  symlinkSync(site.dir, join(root, 'sub', 'tokenscope'), 'dir');
  const server = await serveStatic(root);
  const stop = server.close;
  return Object.assign(server, {
    url: `${server.base}/sub/tokenscope/`,
    close: async () => {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  });
}
