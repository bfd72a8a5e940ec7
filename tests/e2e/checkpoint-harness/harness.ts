// Exposes the checkpoint download path (real fetch, real Cache Storage) and the browser image
// decoder to Playwright.
import * as tf from '@tensorflow/tfjs';
import { CATALOG, type CatalogEntry } from '../../../src/io/catalog';
import { disposeCheckpoint } from '../../../src/io/checkpoint';
import { downloadCatalogModel, openBrowserCache } from '../../../src/io/hub';
import { decodeImageBlob, preprocessImage, resolvePreprocess } from '../../../src/io/preprocess';
import type { VitConfig } from '../../../src/model/config';
import { forwardTensors } from '../../../src/model/vit';

const CACHE = 'tokenscope-e2e';
const entry = (repo: string): CatalogEntry => ({ ...CATALOG.find((e) => e.hasPreprocessor)!, repo });

async function cachedUrls(): Promise<string[]> {
  return (await (await caches.open(CACHE)).keys()).map((r) => r.url);
}

async function download(hubBase: string, repo: string, abortAfterBytes?: number) {
  const cache = await openBrowserCache(CACHE);
  if (!cache) throw new Error('no Cache Storage in this page');
  const controller = new AbortController();
  let events = 0;
  try {
    const r = await downloadCatalogModel(entry(repo), {
      cache,
      hubBase,
      retryDelayMs: 0,
      signal: controller.signal,
      onProgress: (p) => {
        events++;
        if (abortAfterBytes !== undefined && p.file === 'model.safetensors' && p.receivedBytes >= abortAfterBytes) controller.abort();
      },
    });
    const c = r.checkpoint.config;
    const x = tf.zeros([1, c.image_size, c.image_size, c.num_channels]) as tf.Tensor4D;
    const { logits } = forwardTensors(c, r.checkpoint.model.weights, x, { hooks: Array(c.num_hidden_layers).fill(null), propAttn: false, keepAssignments: false });
    const out = Array.from(await logits.data());
    tf.dispose([x, logits]);
    disposeCheckpoint(r.checkpoint);
    return { ok: true, layout: r.checkpoint.layout, fromCache: r.fromCache, logits: out, events, cached: await cachedUrls() };
  } catch (e) {
    return { ok: false, code: (e as { code?: string }).code ?? null, message: String((e as Error).message), events, cached: await cachedUrls() };
  }
}

async function decode(url: string, config: VitConfig) {
  const blob = await (await fetch(url)).blob();
  const image = await decodeImageBlob(blob);
  const spec = resolvePreprocess({ config, layout: 'hf-vit' });
  const { pixels } = preprocessImage(image, spec);
  return { width: image.width, height: image.height, channels: image.channels, pixels: Array.from(pixels) };
}

declare global {
  interface Window {
    tokenscopeCheckpoint: { download: typeof download; decode: typeof decode; clear: () => Promise<boolean> };
  }
}

window.tokenscopeCheckpoint = { download, decode, clear: () => caches.delete(CACHE) };
await tf.setBackend('cpu');
document.getElementById('status')!.textContent = 'ready';
