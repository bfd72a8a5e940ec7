/**
 * A Vite plugin that makes the built site work offline and cross-origin isolated on any static
 * host: after the build it lists every output file with its SHA-256 and writes sw.js (the
 * transpiled service-worker.ts behind that manifest) beside index.html. The cache name is the
 * manifest's own hash, so any change to any file makes a new sw.js and a new cache, and an
 * unchanged rebuild changes nothing. The build's label (TOKENSCOPE_BUILD_ID, e.g. the commit in CI)
 * is also compiled into the page as __TOKENSCOPE_BUILD__ and shown on <html data-build>.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformWithOxc, type Plugin } from 'vite';
import { ISOLATION_HEADERS } from './isolation';

export const SERVICE_WORKER_FILE = 'sw.js';
export const CACHE_PREFIX = 'tokenscope-site-';

export interface SiteManifest {
  build: string;
  cache: string;
  prefix: string;
  files: { path: string; sha256: string }[];
  headers: Record<string, string>;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((p) => p !== SERVICE_WORKER_FILE && !p.endsWith('.map'))
    .sort();
}

/**
 * The manifest of the site in `outDir`: every file but sw.js and source maps. The cache id covers
 * the worker's own code too, so a new worker never shares (and, failing to install, never deletes)
 * the cache of the one it replaces.
 */
export function siteManifest(outDir: string, build: string, workerCode = ''): SiteManifest {
  const files = listFiles(outDir).map((path) => ({ path, sha256: sha256(readFileSync(join(outDir, path))) }));
  const id = sha256(JSON.stringify({ build, files, headers: ISOLATION_HEADERS, worker: sha256(workerCode) })).slice(0, 16);
  return { build, cache: `${CACHE_PREFIX}${id}`, prefix: CACHE_PREFIX, files, headers: { ...ISOLATION_HEADERS } };
}

/** Writes `outDir`/sw.js for the files there now; returns its manifest. */
export async function writeServiceWorker(outDir: string, build: string): Promise<SiteManifest> {
  const source = fileURLToPath(new URL('./service-worker.ts', import.meta.url));
  const { code } = await transformWithOxc(readFileSync(source, 'utf8'), source, { lang: 'ts' });
  const manifest = siteManifest(outDir, build, code);
  writeFileSync(join(outDir, SERVICE_WORKER_FILE), `const MANIFEST = ${JSON.stringify(manifest)};\n${code}`);
  return manifest;
}

export const buildLabel = () => process.env.TOKENSCOPE_BUILD_ID || 'local';

export function offlineSite(build = buildLabel()): Plugin {
  let outDir = '';
  return {
    name: 'tokenscope-offline-site',
    // Builds register the service worker and dev servers do not, whatever NODE_ENV says (tests build with 'test').
    config: (_, env) => ({ define: { __TOKENSCOPE_BUILD__: JSON.stringify(build), __TOKENSCOPE_SERVICE_WORKER__: JSON.stringify(env.command === 'build') } }),
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      // Only the page build writes index.html; worker sub-builds do not reach here with one.
      if (existsSync(join(outDir, 'index.html'))) await writeServiceWorker(outDir, build);
    },
  };
}
