import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubFileUrl } from '../../src/io/catalog';
import { loadCheckpoint } from '../../src/io/checkpoint';
import { decodeImageBytes } from '../../src/io/decode-image-node';
import { preprocessImage, resolvePreprocess } from '../../src/io/preprocess';
import type { VitConfig } from '../../src/model/config';
import { forwardTensors } from '../../src/model/vit';
import { startBrowserSession, type BrowserSession } from '../helpers/browser';
import { encodeCheckpoint, hfConfigJson, randomTimmArrays, renameTo, smallVitConfig } from '../helpers/checkpoints';
import { startServer, type TestServer } from '../helpers/http-server';
import { useWasmBackend } from '../helpers/tf';
import * as tf from '@tensorflow/tfjs';

// The download path in Chromium: real fetch across origins (CORS, Range), real Cache Storage,
// cancel, offline reuse; and the browser image decoder against the Node PNG decoder.
useWasmBackend();

const config = smallVitConfig({ 0: 'a', 1: 'b', 2: 'c' });
const weights = encodeCheckpoint(renameTo(randomTimmArrays(config, 3), 'hf-vit'), 'BF16');
const configJson = hfConfigJson(config, 'hf-vit');

describe('checkpoint download in Chromium', () => {
  let session: BrowserSession;
  let hub: TestServer;
  const path = (repo: string, file: string) => new URL(hubFileUrl(repo, 'main', file, 'http://x')).pathname;

  beforeAll(async () => {
    hub = await startServer({}, { cors: true });
    for (const repo of ['test/vit', 'test/slow']) {
      hub.routes.set(path(repo, 'config.json'), { body: new TextEncoder().encode(JSON.stringify(configJson)) });
      hub.routes.set(path(repo, 'preprocessor_config.json'), {
        body: new TextEncoder().encode(JSON.stringify({ do_resize: true, size: 8, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] })),
      });
    }
    // The first transfer breaks a third of the way: the browser must resume with a Range request.
    hub.routes.set(path('test/vit', 'model.safetensors'), {
      body: weights,
      chunk: 4096,
      etag: '"w1"',
      behave: (n) => (n === 0 ? { dropAfter: Math.floor(weights.length / 3) } : {}),
    });
    hub.routes.set(path('test/slow', 'model.safetensors'), { body: weights, chunk: 2048, delayMs: 15 });
    session = await startBrowserSession();
  }, 300_000);

  afterAll(async () => {
    await session?.close();
    await hub?.close();
  });

  it('downloads across origins with a Range resume, caches in Cache Storage, reloads offline, and cancels cleanly', async () => {
    const page = await session.newPage('/tests/e2e/checkpoint-harness/index.html');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
    await page.evaluate(() => window.tokenscopeCheckpoint.clear());
    // The dev server isolates its pages (COOP/COEP require-corp, for wasm threads); the hub's CORS
    // answers are what lets its files through.
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);

    const first = await page.evaluate((base) => window.tokenscopeCheckpoint.download(base, 'test/vit'), hub.base);
    expect(first).toMatchObject({ ok: true, layout: 'hf-vit', fromCache: false });
    const ranges = hub.requests.filter((r) => r.path.endsWith('test/vit/resolve/main/model.safetensors') && r.method === 'GET').map((r) => r.range);
    expect(ranges).toEqual([undefined, `bytes=${Math.floor(weights.length / 3)}-`]);
    expect(first.cached).toHaveLength(3);
    expect(
      hub.requests.every((r) => r.method === 'GET'),
      'no CORS preflight: Range is a safelisted header',
    ).toBe(true);

    // Node computes the same logits from the same bytes.
    const node = loadCheckpoint({ safetensors: weights, config: configJson });
    const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    const { logits } = forwardTensors(node.config, node.model.weights, x, { hooks: [null, null], propAttn: false, keepAssignments: false });
    const want = Array.from(await logits.data());
    expect(Math.max(...(first as { logits: number[] }).logits.map((v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-4);
    tf.dispose([x, logits]);

    const cancelled = await page.evaluate((base) => window.tokenscopeCheckpoint.download(base, 'test/slow', 8192), hub.base);
    expect(cancelled).toMatchObject({ ok: false, code: 'cancelled' });
    expect(cancelled.cached.some((u: string) => u.includes('test/slow') && u.endsWith('model.safetensors'))).toBe(false);

    // Offline: the hub is gone, the same URLs come from Cache Storage.
    await hub.close();
    const offline = await page.evaluate((base) => window.tokenscopeCheckpoint.download(base, 'test/vit'), hub.base);
    expect(offline).toMatchObject({ ok: true, fromCache: true });
    expect((offline as { logits: number[] }).logits).toEqual((first as { logits: number[] }).logits);
    await page.close();
  }, 300_000);

  it('decodeImageBlob in the browser gives the pixels the Node PNG decoder gives', async () => {
    const page = await session.newPage('/tests/e2e/checkpoint-harness/index.html');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
    const grey: VitConfig = { ...config, image_size: 28, patch_size: 4, num_channels: 1, image_mean: [0.286], image_std: [0.353] };
    const file = 'public/images/fmnist/test-0000-ankle-boot.png';
    const browser = await page.evaluate(([url, c]) => window.tokenscopeCheckpoint.decode(url, c), ['/images/fmnist/test-0000-ankle-boot.png', grey] as const);
    const image = await decodeImageBytes(new Uint8Array(readFileSync(file)), file);
    const { pixels } = preprocessImage(image, resolvePreprocess({ config: grey, layout: 'hf-vit' }));
    expect(browser).toMatchObject({ width: 28, height: 28, channels: 4 });
    expect(browser.pixels).toEqual(Array.from(pixels));
    const jpeg = await page.evaluate(([url, c]) => window.tokenscopeCheckpoint.decode(url, c), [
      '/images/chelsea.jpg',
      { ...config, image_size: 224, patch_size: 16 },
    ] as const);
    expect(jpeg).toMatchObject({ width: 337, height: 224, channels: 4 });
    expect(jpeg.pixels).toHaveLength(224 * 224 * 3);
    await page.close();
  }, 300_000);
});
