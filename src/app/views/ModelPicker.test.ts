import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint, hfConfigJson, randomTimmArrays, renameTo } from '../../../tests/helpers/checkpoints';
import { startServer, type TestServer } from '../../../tests/helpers/http-server';
import { useWasmBackend } from '../../../tests/helpers/tf';
import { TokenScopeError } from '../../errors';
import { CATALOG, hubFileUrl, type CatalogEntry } from '../../io/catalog';
import { disposeCheckpoint, loadCheckpoint } from '../../io/checkpoint';
import { describePreprocess } from '../../io/preprocess';
import { MemoryCache } from '../../io/hub';
import type { VitConfig } from '../../model/config';
import { ModelPicker, ModelPickerView, createModelPickerController, plainMessage, type LoadReport, type PickedModel, type PickerState } from './ModelPicker';

useWasmBackend();

const config: VitConfig = {
  hidden_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 1,
  intermediate_size: 64,
  image_size: 8,
  patch_size: 4,
  num_channels: 3,
  layer_norm_eps: 1e-6,
  id2label: { 0: 'a', 1: 'b' },
  distilled: false,
};
const weights = encodeCheckpoint(renameTo(randomTimmArrays(config, 5), 'hf-vit'), 'F32');
const entry: CatalogEntry = { ...CATALOG[0], repo: 'test/picker', title: 'Test ViT', hasPreprocessor: false };
const slow: CatalogEntry = { ...entry, repo: 'test/slow', title: 'Slow ViT' };
const missing: CatalogEntry = { ...entry, repo: 'test/missing', title: 'Gone' };

let server: TestServer;
beforeAll(async () => {
  server = await startServer({});
  const at = (e: CatalogEntry, f: string) => new URL(hubFileUrl(e.repo, e.revision, f, server.base)).pathname;
  const configBytes = new TextEncoder().encode(JSON.stringify(hfConfigJson(config, 'hf-vit')));
  for (const e of [entry, slow]) server.routes.set(at(e, 'config.json'), { body: configBytes });
  server.routes.set(at(entry, 'model.safetensors'), { body: weights, chunk: 8192 });
  server.routes.set(at(slow, 'model.safetensors'), { body: weights, chunk: 2048, delayMs: 20 });
});
afterAll(async () => {
  await server.close();
});

/** A host like the pages' worker: builds the model from the files (and refuses what is not one), then disposes it. */
function host() {
  const picked: PickedModel[] = [];
  const load = async (p: PickedModel): Promise<LoadReport> => {
    const checkpoint = loadCheckpoint(p.files);
    disposeCheckpoint(checkpoint);
    picked.push(p);
    return { name: p.name, notes: checkpoint.notes, preprocessing: describePreprocess(checkpoint.preprocess) };
  };
  const bundled = async (): Promise<LoadReport> => ({ name: 'fmnist-vit (bundled)', notes: [], preprocessing: [] });
  return { picked, options: { onModelLoaded: load, onBundled: bundled } };
}

function track(controller: ReturnType<typeof createModelPickerController>): PickerState[] {
  const states: PickerState[] = [];
  controller.subscribe(() => states.push(controller.getState()));
  return states;
}

describe('createModelPickerController', () => {
  it('download shows progress over model.safetensors, hands over the loaded model, and notes what was assumed', async () => {
    const { picked, options } = host();
    const c = createModelPickerController({ ...options, cache: new MemoryCache(), hubBase: server.base });
    const states = track(c);
    await c.download(entry);
    const progress = states.filter((s) => s.status === 'downloading' && s.file === 'model.safetensors');
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toMatchObject({ receivedBytes: weights.length, totalBytes: weights.length });
    expect(c.getState()).toMatchObject({ status: 'idle', message: null, loaded: { name: 'test/picker', fromCache: false } });
    expect(c.getState().loaded!.preprocessing.length).toBeGreaterThan(2);
    expect(picked).toHaveLength(1);
    expect(picked[0].origin).toEqual({ kind: 'hub', repo: 'test/picker', revision: 'main', fromCache: false });
    expect(picked[0].files.safetensors).toEqual(weights);
  });

  it('openOffline hands over a model only when every file is in the cache, without touching the network', async () => {
    const { picked, options } = host();
    const cache = new MemoryCache();
    const online = createModelPickerController({ ...options, cache, hubBase: server.base });
    expect(await online.openOffline(entry)).toBe(false);
    expect(picked).toHaveLength(0);
    await online.download(entry);
    const requests = server.requests.length;
    const offline = createModelPickerController({ ...options, cache, hubBase: server.base, fetch: () => Promise.reject(new Error('offline')) });
    expect(await offline.openOffline(entry)).toBe(true);
    expect(server.requests.length).toBe(requests);
    expect(picked.at(-1)!.origin).toEqual({ kind: 'hub', repo: 'test/picker', revision: 'main', fromCache: true });
    expect(offline.getState().loaded).toMatchObject({ fromCache: true });
  });

  it('a download the host refuses (not a ViT) ends in an error that says the previous model is still in use', async () => {
    const c = createModelPickerController({
      onModelLoaded: () => Promise.reject(new TokenScopeError('shape-mismatch', "checkpoint is missing tensor 'cls_token'")),
      onBundled: host().options.onBundled,
      cache: null,
      hubBase: server.base,
    });
    await c.download(entry);
    expect(c.getState()).toMatchObject({
      status: 'error',
      message: "This checkpoint does not fit a ViT/DeiT: checkpoint is missing tensor 'cls_token'. The previous model is still in use.",
      loaded: null,
    });
  });

  it('cancel stops a slow download, says so, caches nothing and hands nothing over', async () => {
    const { picked, options } = host();
    const cache = new MemoryCache();
    const c = createModelPickerController({ ...options, cache, hubBase: server.base });
    c.subscribe(() => {
      const s = c.getState();
      if (s.file === 'model.safetensors' && s.receivedBytes > 10_000) c.cancel();
    });
    await c.download(slow);
    expect(c.getState()).toMatchObject({ status: 'idle', message: 'Download cancelled.', loaded: null });
    expect(picked).toHaveLength(0);
    expect([...cache.entries.keys()].some((k) => k.endsWith('model.safetensors'))).toBe(false);
  });

  it('download of a missing repository ends in an error in plain words', async () => {
    const c = createModelPickerController({ ...host().options, cache: null, hubBase: server.base });
    await c.download(missing);
    expect(c.getState().status).toBe('error');
    expect(c.getState().message).toMatch(/^A file is missing: the server answered 404 .*check the repository, revision and file name\.$/);
  });

  it('loadFiles loads a picked .safetensors with its config.json, and explains a bad file', async () => {
    const { picked, options } = host();
    const c = createModelPickerController({ ...options, cache: null });
    await c.loadFiles([new File([new Uint8Array(weights)], 'model.safetensors'), new File([JSON.stringify(hfConfigJson(config, 'hf-vit'))], 'config.json')]);
    expect(picked[0].origin).toEqual({ kind: 'files', names: ['model.safetensors', 'config.json'] });
    expect(c.getState().loaded?.name).toBe('model.safetensors');
    await c.loadFiles([new File(['not a checkpoint at all'], 'x.safetensors')]);
    expect(c.getState()).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/^This is not a readable \.safetensors file: .*The previous model is still in use\.$/),
    });
    expect(picked).toHaveLength(1);
    await c.loadFiles([new File(['{}'], 'config.json')]);
    expect(c.getState()).toMatchObject({ status: 'error', message: expect.stringMatching(/^A file is missing: choose one \.safetensors file/) });
  });

  it('useBundled hands back to the host and shows what it reports', async () => {
    const c = createModelPickerController({ ...host().options, cache: null });
    await c.useBundled();
    expect(c.getState()).toMatchObject({ status: 'idle', loaded: { name: 'fmnist-vit (bundled)', fromCache: false } });
  });

  it('plainMessage turns each error code into a sentence', () => {
    expect(plainMessage(new TokenScopeError('download-failed', 'could not download x after 5 attempts: timeout'))).toBe(
      'The download did not finish (could not download x after 5 attempts: timeout). Check the connection and try again.',
    );
    expect(plainMessage(new TokenScopeError('shape-mismatch', "checkpoint is missing tensor 'head.weight';"))).toBe(
      "This checkpoint does not fit a ViT/DeiT: checkpoint is missing tensor 'head.weight'.",
    );
    expect(plainMessage(new Error('boom'))).toBe('Something went wrong: boom.');
  });
});

describe('ModelPickerView', () => {
  const noop = () => undefined;
  const idle: PickerState = { status: 'idle', repo: null, file: null, receivedBytes: 0, totalBytes: null, message: null, loaded: null };
  const html = (state: PickerState) =>
    renderToStaticMarkup(
      createElement(ModelPickerView, { state, catalog: CATALOG, inUse: 'fmnist-vit (bundled)', onDownload: noop, onCancel: noop, onFiles: noop, onBundled: noop }),
    );

  it('ModelPickerView lists every catalog entry with its size and published accuracy before any download', () => {
    const page = html(idle);
    for (const e of CATALOG) {
      expect(page).toContain(`data-testid="hub-${e.repo}">${e.title}</button>`);
      expect(page).toContain(`${e.sizeMb} MB`);
      expect(page).toContain(`ImageNet top-1 ${e.top1.toFixed(1)} % (published)`);
    }
    expect(page).toContain('type="file"');
    expect(page).toContain('accept=".safetensors,.json"');
    expect(page).toContain('data-testid="model-files"');
    expect(page).toContain('data-testid="model-picker"');
    expect(page).toContain('data-testid="model-bundled"');
    expect(page).toContain('in use: fmnist-vit (bundled)');
    expect(page).not.toContain('<progress');
  });

  it('ModelPickerView shows a progress bar with a cancel button while downloading, and errors as an alert', () => {
    const page = html({ ...idle, status: 'downloading', repo: 'timm/x', file: 'model.safetensors', receivedBytes: 11_450_000, totalBytes: 22_900_000 });
    expect(page).toContain('<progress value="11450000" max="22900000"');
    expect(page).toContain('11.4 of 22.9 MB (50 %)');
    expect(page).toContain('>Cancel</button>');
    expect(page).toMatch(/<button type="button" disabled=""[^>]*>DeiT-Tiny<\/button>/);
    expect(page).toMatch(/<details[^>]*open=""/);
    expect(html({ ...idle, status: 'error', message: 'A file is missing: 404.' })).toContain(
      'role="alert" data-testid="model-picker-message">A file is missing: 404.</p>',
    );
  });

  it('ModelPicker renders the catalog through its controller', () => {
    const controller = createModelPickerController({ ...host().options, cache: null });
    const page = renderToStaticMarkup(createElement(ModelPicker, { controller, inUse: null }));
    expect(page).toContain('Pretrained on ImageNet-1k');
    expect(page).toContain('DeiT-Small');
  });
});
