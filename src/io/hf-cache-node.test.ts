import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../../tests/helpers/http-server';
import { ensureHubSnapshot, hubCacheDir, parseHubId, repoFolder } from './hf-cache-node';

const root = mkdtempSync(join(tmpdir(), 'tokenscope-hf-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const COMMIT = 'a'.repeat(40);
const weights = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 251);
const config = new TextEncoder().encode('{"architecture": "deit_tiny_patch16_224"}');
const SHA = 'b'.repeat(64);

/**
 * The hub as huggingface_hub sees it: a HEAD answered by the hub itself (commit and content hash
 * in headers), a GET served by the test server (Range, dropped connections).
 */
function hubFetch(server: TestServer, heads: string[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(String(input));
    if (init?.method === 'HEAD') {
      heads.push(url.pathname);
      if (url.pathname.endsWith('preprocessor_config.json')) return new Response(null, { status: 404 });
      const etag = url.pathname.endsWith('model.safetensors') ? SHA : 'c0ffee';
      return new Response(null, { status: 302, headers: { 'x-repo-commit': COMMIT, 'x-linked-etag': `"${etag}"`, location: 'https://cdn.example/x' } });
    }
    return fetch(`${server.base}${url.pathname}`, init);
  };
}

describe('ensureHubSnapshot', () => {
  it('parseHubId reads owner/name with an optional @revision and rejects other text', () => {
    expect(parseHubId('timm/deit_small_patch16_224.fb_in1k')).toEqual({ repo: 'timm/deit_small_patch16_224.fb_in1k', revision: 'main' });
    expect(parseHubId('facebook/deit-tiny-patch16-224@v1.0')).toEqual({ repo: 'facebook/deit-tiny-patch16-224', revision: 'v1.0' });
    expect(parseHubId('model.safetensors')).toBeNull();
    expect(parseHubId('a/b/c')).toBeNull();
  });

  it('hubCacheDir follows HF_HUB_CACHE, then HF_HOME, then ~/.cache/huggingface/hub', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/x', HF_HOME: '/y' })).toBe('/x');
    expect(hubCacheDir({ HF_HOME: '/y' })).toBe('/y/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/z' })).toBe('/z/huggingface/hub');
  });

  it('ensureHubSnapshot resumes an interrupted download in a later run with Range, into the Hugging Face layout', async () => {
    let failing = true;
    const server = await startServer({
      '/timm/tiny/resolve/main/model.safetensors': { body: weights, etag: '"w1"', behave: () => (failing ? { dropAfter: 1200 } : {}) },
      '/timm/tiny/resolve/main/config.json': { body: config },
    });
    try {
      const env = { HF_HOME: join(root, 'home') };
      const heads: string[] = [];
      const id = { repo: 'timm/tiny', revision: 'main' };
      await expect(ensureHubSnapshot(id, { env, fetch: hubFetch(server, heads), retryDelayMs: 1, retries: 0 })).rejects.toMatchObject({ code: 'download-failed' });
      const repo = join(env.HF_HOME, 'hub', repoFolder('timm/tiny'));
      expect(readFileSync(join(repo, 'blobs', `${SHA}.incomplete`)).length).toBe(1200);
      failing = false;
      server.requests.length = 0;
      const snap = await ensureHubSnapshot(id, { env, fetch: hubFetch(server, heads), retryDelayMs: 1 });
      expect(server.requests.filter((r) => r.path.endsWith('model.safetensors')).map((r) => r.range)).toEqual(['bytes=1200-']);
      expect(snap).toEqual({ dir: join(repo, 'snapshots', COMMIT), commit: COMMIT, fromCache: false });
      expect(readlinkSync(join(snap.dir, 'model.safetensors'))).toBe(join('..', '..', 'blobs', SHA));
      expect(Buffer.from(readFileSync(join(snap.dir, 'model.safetensors'))).equals(Buffer.from(weights))).toBe(true);
      expect(readFileSync(join(snap.dir, 'config.json'), 'utf8')).toBe(new TextDecoder().decode(config));
      expect(existsSync(join(snap.dir, 'preprocessor_config.json'))).toBe(false);
      expect(readFileSync(join(repo, 'refs', 'main'), 'utf8')).toBe(COMMIT);
      expect(existsSync(join(repo, 'blobs', `${SHA}.incomplete`))).toBe(false);

      // Offline, the same id comes from the cache without a request.
      const before = server.requests.length + heads.length;
      const again = await ensureHubSnapshot(id, { env: { ...env, HF_HUB_OFFLINE: '1' }, fetch: hubFetch(server, heads) });
      expect(again).toEqual({ ...snap, fromCache: true });
      expect(server.requests.length + heads.length).toBe(before);
    } finally {
      await server.close();
    }
  });

  it('ensureHubSnapshot uses a snapshot Python left in the cache, and offline names what is missing', async () => {
    const cache = join(root, 'python-cache');
    const repo = join(cache, repoFolder('facebook/deit-small-patch16-224'));
    mkdirSync(join(repo, 'refs'), { recursive: true });
    mkdirSync(join(repo, 'blobs'));
    mkdirSync(join(repo, 'snapshots', COMMIT), { recursive: true });
    writeFileSync(join(repo, 'refs', 'main'), COMMIT);
    writeFileSync(join(repo, 'blobs', SHA), weights);
    symlinkSync(join('..', '..', 'blobs', SHA), join(repo, 'snapshots', COMMIT, 'model.safetensors'));
    const never: typeof fetch = async () => {
      throw new Error('no network in this test');
    };
    const snap = await ensureHubSnapshot({ repo: 'facebook/deit-small-patch16-224', revision: 'main' }, { env: { HF_HUB_CACHE: cache }, fetch: never });
    expect(snap).toEqual({ dir: join(repo, 'snapshots', COMMIT), commit: COMMIT, fromCache: true });
    const byCommit = await ensureHubSnapshot({ repo: 'facebook/deit-small-patch16-224', revision: COMMIT }, { env: { HF_HUB_CACHE: cache }, fetch: never });
    expect(byCommit.dir).toBe(snap.dir);
    await expect(
      ensureHubSnapshot({ repo: 'facebook/deit-base-patch16-224', revision: 'main' }, { env: { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' }, fetch: never }),
    ).rejects.toMatchObject({
      code: 'data-missing',
      message: expect.stringMatching(/HF_HUB_OFFLINE is set and facebook\/deit-base-patch16-224@main is not in the Hugging Face cache/),
    });
  });
});
