import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint, hfConfigJson, randomTimmArrays, renameTo, timmConfigJson, smallVitConfig } from '../../tests/helpers/checkpoints';
import { startServer, type Route, type TestServer } from '../../tests/helpers/http-server';
import { useWasmBackend } from '../../tests/helpers/tf';
import { CATALOG, catalogUrls, hubFileUrl, type CatalogEntry } from './catalog';
import { disposeCheckpoint } from './checkpoint';
import { downloadBytes, downloadCatalogModel, MemoryCache, type DownloadProgress } from './hub';

useWasmBackend();

const config = smallVitConfig({ 0: 'a', 1: 'b', 2: 'c' });
const CHECKPOINT = encodeCheckpoint(renameTo(randomTimmArrays(config, 1), 'hf-vit'), 'F32');
const FILE = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 7919) % 251);

let server: TestServer;
const routes: Record<string, Route> = {};
const url = (path: string) => `${server.base}${path}`;
const requestsTo = (path: string) => server.requests.filter((r) => r.path === path);
/** Registers a route under a fresh path (each test gets its own request counter). */
let serial = 0;
function route(r: Route): string {
  const path = `/file-${serial++}.bin`;
  server.routes.set(path, r);
  return path;
}

beforeAll(async () => {
  server = await startServer(routes);
});
afterAll(async () => {
  await server.close();
});

const fast = { retryDelayMs: 0 };

describe('downloadBytes', () => {
  it('downloadBytes reports growing progress up to the total, caches the file, and then serves it from the cache offline', async () => {
    const path = route({ body: FILE, chunk: 4096 });
    const cache = new MemoryCache();
    const events: DownloadProgress[] = [];
    const first = await downloadBytes(url(path), { ...fast, cache, onProgress: (p) => events.push(p) });
    expect(first).toMatchObject({ fromCache: false, attempts: 1 });
    expect(first.bytes).toEqual(FILE);
    const received = events.map((e) => e.receivedBytes);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ receivedBytes: FILE.length, totalBytes: FILE.length });
    expect(events.every((e) => e.totalBytes === FILE.length)).toBe(true);

    const offline = await downloadBytes(url(path), { cache, fetch: () => Promise.reject(new Error('offline')) });
    expect(offline).toMatchObject({ fromCache: true, attempts: 0 });
    expect(offline.bytes).toEqual(FILE);
    expect(requestsTo(path)).toHaveLength(1);
  });

  it('downloadBytes cancelled midway of a slow transfer rejects with code cancelled and caches nothing', async () => {
    const path = route({ body: FILE, chunk: 1000, delayMs: 10 });
    const cache = new MemoryCache();
    const controller = new AbortController();
    const events: DownloadProgress[] = [];
    const pending = downloadBytes(url(path), {
      ...fast,
      cache,
      signal: controller.signal,
      onProgress: (p) => {
        events.push(p);
        if (p.receivedBytes >= 5000) controller.abort();
      },
    });
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    expect(events.length).toBeGreaterThan(2);
    expect(events.at(-1)!.receivedBytes).toBeLessThan(FILE.length);
    expect(cache.entries.size).toBe(0);
    // the server sees the connection close once its event loop gets to it
    await expect.poll(() => requestsTo(path)[0]?.aborted).toBe(true);
    expect(requestsTo(path)).toHaveLength(1);
    // A signal that has already fired makes no request at all.
    await expect(downloadBytes(url(path), { signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
    expect(requestsTo(path)).toHaveLength(1);
  });

  it('downloadBytes resumes a dropped transfer with a Range request and gets the exact file', async () => {
    const path = route({ body: FILE, chunk: 3000, behave: (n) => (n === 0 ? { dropAfter: 12_000 } : {}) });
    const cache = new MemoryCache();
    const events: DownloadProgress[] = [];
    const r = await downloadBytes(url(path), { ...fast, cache, onProgress: (p) => events.push(p) });
    expect(r.bytes).toEqual(FILE);
    expect(r.attempts).toBe(2);
    const reqs = requestsTo(path);
    expect(reqs.map((q) => q.range)).toEqual([undefined, 'bytes=12000-']);
    expect(events.filter((e) => e.attempt === 2)[0].receivedBytes).toBe(12_000); // progress carries on, not from 0
    expect(cache.entries.get(url(path))?.bytes).toEqual(FILE);
  });

  it('downloadBytes restarts from byte 0 when the server ignores Range', async () => {
    const path = route({ body: FILE, chunk: 3000, behave: (n) => (n === 0 ? { dropAfter: 9000 } : { ignoreRange: true }) });
    const r = await downloadBytes(url(path), fast);
    expect(r.bytes).toEqual(FILE);
    expect(requestsTo(path).map((q) => q.range)).toEqual([undefined, 'bytes=9000-']);
  });

  it('downloadBytes restarts from byte 0 when the resumed part starts elsewhere or the ETag changed', async () => {
    const wrong = route({ body: FILE, chunk: 3000, etag: '"v1"', behave: (n) => (n === 0 ? { dropAfter: 9000 } : n === 1 ? { wrongStart: 6000 } : {}) });
    expect((await downloadBytes(url(wrong), fast)).bytes).toEqual(FILE);
    expect(requestsTo(wrong).map((q) => q.range)).toEqual([undefined, 'bytes=9000-', undefined]);

    const changed = route({ body: FILE, chunk: 3000, etag: '"v1"', behave: (n) => (n === 0 ? { dropAfter: 9000 } : n === 1 ? { etag: '"v2"' } : {}) });
    expect((await downloadBytes(url(changed), fast)).bytes).toEqual(FILE);
    expect(requestsTo(changed).map((q) => q.range)).toEqual([undefined, 'bytes=9000-', undefined]);
  });

  it('downloadBytes rejects a response shorter than its Content-Length after every retry, and caches nothing', async () => {
    const path = route({ body: FILE, behave: () => ({ announceLength: FILE.length + 100, ignoreRange: true }) });
    const cache = new MemoryCache();
    await expect(downloadBytes(url(path), { ...fast, cache, retries: 2 })).rejects.toMatchObject({
      code: 'download-failed',
      message: expect.stringMatching(/after 3 attempts/),
    });
    expect(requestsTo(path)).toHaveLength(3);
    expect(cache.entries.size).toBe(0);
  });

  it('downloadBytes rejects a file whose length differs from the expected one, and caches nothing', async () => {
    const path = route({ body: FILE });
    const cache = new MemoryCache();
    await expect(downloadBytes(url(path), { ...fast, cache, expectedBytes: FILE.length - 1 })).rejects.toMatchObject({ code: 'data-malformed' });
    expect(cache.entries.size).toBe(0);
  });

  it('downloadBytes never trusts a cache entry whose bytes do not match its recorded length', async () => {
    const path = route({ body: FILE });
    const cache = new MemoryCache();
    cache.entries.set(url(path), { bytes: FILE.subarray(0, 100), headers: [['x-tokenscope-bytes', String(FILE.length)]] });
    const r = await downloadBytes(url(path), { ...fast, cache });
    expect(r).toMatchObject({ fromCache: false });
    expect(r.bytes).toEqual(FILE);
    expect(cache.entries.get(url(path))?.bytes).toEqual(FILE);
  });

  it('downloadBytes retries a server error and gives up at once on 404', async () => {
    const flaky = route({ body: FILE, behave: (n) => (n < 2 ? { status: 503 } : {}) });
    expect((await downloadBytes(url(flaky), fast)).bytes).toEqual(FILE);
    expect(requestsTo(flaky)).toHaveLength(3);
    await expect(downloadBytes(url('/missing.bin'), fast)).rejects.toMatchObject({ code: 'data-missing', message: expect.stringContaining('404') });
    expect(requestsTo('/missing.bin')).toHaveLength(1);
  });

  it('downloadBytes makes only plain GET requests', () => {
    expect(new Set(server.requests.map((r) => r.method))).toEqual(new Set(['GET']));
  });
});

describe('downloadCatalogModel', () => {
  const vit: CatalogEntry = { ...CATALOG.find((e) => e.repo === 'WinKawaks/vit-tiny-patch16-224')!, repo: 'test/vit-mini' };
  const deit: CatalogEntry = { ...CATALOG.find((e) => e.repo === 'timm/deit_tiny_patch16_224.fb_in1k')!, repo: 'test/deit-mini' };

  beforeAll(() => {
    const at = (entry: CatalogEntry, file: string) => new URL(hubFileUrl(entry.repo, entry.revision, file, server.base)).pathname;
    server.routes.set(at(vit, 'model.safetensors'), { body: CHECKPOINT, chunk: 16_384 });
    server.routes.set(at(vit, 'config.json'), { body: new TextEncoder().encode(JSON.stringify(hfConfigJson(config, 'hf-vit'))) });
    server.routes.set(at(vit, 'preprocessor_config.json'), {
      body: new TextEncoder().encode(JSON.stringify({ do_resize: true, size: 8, resample: 2, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] })),
    });
    const timm = encodeCheckpoint(randomTimmArrays(config, 2), 'F16');
    server.routes.set(at(deit, 'model.safetensors'), { body: timm });
    server.routes.set(at(deit, 'config.json'), { body: new TextEncoder().encode(JSON.stringify(timmConfigJson('deit_mini', 3, 8))) });
  });

  it('catalogUrls follows the hub pattern <repo>/resolve/<revision>/<file>', () => {
    expect(catalogUrls(CATALOG[0])).toEqual({
      safetensors: 'https://huggingface.co/timm/deit_tiny_patch16_224.fb_in1k/resolve/main/model.safetensors',
      config: 'https://huggingface.co/timm/deit_tiny_patch16_224.fb_in1k/resolve/main/config.json',
    });
    expect(catalogUrls(CATALOG.find((e) => e.hasPreprocessor)!).preprocessor).toMatch(/\/resolve\/main\/preprocessor_config\.json$/);
    for (const e of CATALOG) {
      expect(e.sizeMb).toBeGreaterThan(0);
      expect(e.top1).toBeGreaterThan(50);
      expect(e.top1Source.length).toBeGreaterThan(10);
    }
  });

  it('downloadCatalogModel fetches config, preprocessor and weights, loads the model, and works offline the second time', async () => {
    const cache = new MemoryCache();
    const files = new Set<string>();
    const first = await downloadCatalogModel(vit, { ...fast, cache, hubBase: server.base, onProgress: (p) => files.add(p.file) });
    expect(files).toEqual(new Set(['config.json', 'preprocessor_config.json', 'model.safetensors']));
    expect(first.fromCache).toBe(false);
    expect(first.checkpoint.layout).toBe('hf-vit');
    expect(first.checkpoint.configSource).toBe('config.json');
    expect(first.checkpoint.preprocess.source).toMatch(/preprocessor_config\.json/);
    expect(first.checkpoint.notes[0]).toBe('Downloaded from test/vit-mini at revision main.');
    const before = server.requests.length;
    const again = await downloadCatalogModel(vit, { cache, hubBase: server.base, fetch: () => Promise.reject(new Error('offline')) });
    expect(again.fromCache).toBe(true);
    expect(server.requests.length).toBe(before);
    expect(again.files.safetensors).toEqual(CHECKPOINT);
    disposeCheckpoint(first.checkpoint);
    disposeCheckpoint(again.checkpoint);
  });

  it('downloadCatalogModel loads a timm repository (no preprocessor file is asked for)', async () => {
    const r = await downloadCatalogModel(deit, { ...fast, hubBase: server.base });
    expect(r.checkpoint.layout).toBe('timm');
    expect(r.checkpoint.configSource).toBe('tensor shapes');
    expect(r.checkpoint.preprocess.source).toMatch(/^timm pretrained_cfg/);
    expect(server.requests.some((q) => q.path.includes('deit-mini') && q.path.endsWith('preprocessor_config.json'))).toBe(false);
    disposeCheckpoint(r.checkpoint);
  });
});
