import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_PREFIX, siteManifest, writeServiceWorker } from './offline-plugin';

const dirs: string[] = [];
function site(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokenscope-manifest-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('siteManifest', () => {
  it('lists every file but sw.js and source maps, sorted, with its SHA-256', () => {
    const dir = site({ 'index.html': '<p>hi</p>', 'assets/a.js': 'x', 'assets/a.js.map': '{}', 'sw.js': 'old', 'data/set.bin': 'bytes' });
    const m = siteManifest(dir, 'v1');
    expect(m.files.map((f) => f.path)).toEqual(['assets/a.js', 'data/set.bin', 'index.html']);
    // sha256("x"), computed independently
    expect(m.files[0].sha256).toBe('2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
    expect(m.headers).toEqual({ 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    expect(m.cache.startsWith(CACHE_PREFIX)).toBe(true);
  });

  it('names the cache after the content: same files, same cache; any changed byte or label, a new one', () => {
    const a = siteManifest(site({ 'index.html': 'a', 'assets/x.wasm': 'w' }), 'v1');
    expect(siteManifest(site({ 'index.html': 'a', 'assets/x.wasm': 'w' }), 'v1').cache).toBe(a.cache);
    expect(siteManifest(site({ 'index.html': 'a', 'assets/x.wasm': 'W' }), 'v1').cache).not.toBe(a.cache);
    expect(siteManifest(site({ 'index.html': 'a', 'assets/x.wasm': 'w' }), 'v2').cache).not.toBe(a.cache);
  });

  it('gives a changed service worker a cache of its own, even over the same files', () => {
    const dir = site({ 'index.html': 'a' });
    expect(siteManifest(dir, 'v1', 'worker code 1').cache).not.toBe(siteManifest(dir, 'v1', 'worker code 2').cache);
  });
});

describe('writeServiceWorker', () => {
  it('writes sw.js: the manifest, then the worker as plain JavaScript', async () => {
    const dir = site({ 'index.html': 'a' });
    const m = await writeServiceWorker(dir, 'v1');
    const text = readFileSync(join(dir, 'sw.js'), 'utf8');
    const [first, ...rest] = text.split('\n');
    expect(JSON.parse(first.replace(/^const MANIFEST = /, '').replace(/;$/, ''))).toEqual(m);
    const body = rest.join('\n');
    expect(body).not.toMatch(/\binterface\b|: Request\b|\bexport\b|\bimport\b/); // types stripped, a classic script
    expect(body).toMatch(/addEventListener\("install"/);
    expect(createHash('sha256').update('a').digest('hex')).toBe(m.files[0].sha256);
  });
});
