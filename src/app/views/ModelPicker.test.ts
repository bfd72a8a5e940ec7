import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint, hfConfigJson, randomTimmArrays, renameTo } from '../../../tests/helpers/checkpoints';
import { startServer, type TestServer } from '../../../tests/helpers/http-server';
import { useWasmBackend } from '../../../tests/helpers/tf';
import { TokenScopeError } from '../../errors';
import { CATALOG, hubFileUrl, type CatalogEntry } from '../../io/catalog';
import { disposeCheckpoint } from '../../io/checkpoint';
import { MemoryCache } from '../../io/hub';
import type { VitConfig } from '../../model/config';
import { ModelPicker, ModelPickerView, createModelPickerController, plainMessage, type PickedModel, type PickerState } from './ModelPicker';

useWasmBackend();

const config: VitConfig = {
  hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 1, intermediate_size: 64,
  image_size: 8, patch_size: 4, num_channels: 3, layer_norm_eps: 1e-6, id2label: { 0: 'a', 1: 'b' }, distilled: false,
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

function track(controller: ReturnType<typeof createModelPickerController>): PickerState[] {
  const states: PickerState[] = [];
  controller.subscribe(() => states.push(controller.getState()));
  return states;
}

describe('createModelPickerController', () => {
  it('download shows progress over model.safetensors, hands over the loaded model, and notes what was assumed', async () => {
    const picked: PickedModel[] = [];
    const c = createModelPickerController({ onModelLoaded: (r) => picked.push(r), cache: new MemoryCache(), hubBase: server.base });
    const states = track(c);
    await c.download(entry);
    const progress = states.filter((s) => s.status === 'downloading' && s.file === 'model.safetensors');
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toMatchObject({ receivedBytes: weights.length, totalBytes: weights.length });
    expect(c.getState()).toMatchObject({ status: 'idle', message: null, loaded: { name: 'Test ViT', fromCache: false } });
    expect(c.getState().loaded!.preprocessing.length).toBeGreaterThan(2);
    expect(picked).toHaveLength(1);
    expect(picked[0].source).toEqual({ kind: 'catalog', repo: 'test/picker', revision: 'main' });
    expect(picked[0].checkpoint.config.hidden_size).toBe(64);
    disposeCheckpoint(picked[0].checkpoint);
  });

  it('cancel stops a slow download, says so, caches nothing and hands nothing over', async () => {
    const picked: PickedModel[] = [];
    const cache = new MemoryCache();
    const c = createModelPickerController({ onModelLoaded: (r) => picked.push(r), cache, hubBase: server.base });
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
    const c = createModelPickerController({ onModelLoaded: () => undefined, cache: null, hubBase: server.base });
    await c.download(missing);
    expect(c.getState().status).toBe('error');
    expect(c.getState().message).toMatch(/^A file is missing: the server answered 404 .*check the repository, revision and file name\.$/);
  });

  it('loadFiles loads a picked .safetensors with its config.json, and explains a bad file', async () => {
    const picked: PickedModel[] = [];
    const c = createModelPickerController({ onModelLoaded: (r) => picked.push(r), cache: null });
    await c.loadFiles([new File([new Uint8Array(weights)], 'model.safetensors'), new File([JSON.stringify(hfConfigJson(config, 'hf-vit'))], 'config.json')]);
    expect(picked[0].source).toEqual({ kind: 'files', names: ['model.safetensors', 'config.json'] });
    expect(c.getState().loaded?.name).toBe('model.safetensors');
    disposeCheckpoint(picked[0].checkpoint);
    await c.loadFiles([new File(['not a checkpoint at all'], 'x.safetensors')]);
    expect(c.getState()).toMatchObject({ status: 'error', message: expect.stringMatching(/^This is not a readable \.safetensors file: /) });
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
  const html = (state: PickerState) => renderToStaticMarkup(createElement(ModelPickerView, { state, catalog: CATALOG, onDownload: noop, onCancel: noop, onFiles: noop }));

  it('ModelPickerView lists every catalog entry with its size and published accuracy before any download', () => {
    const page = html(idle);
    for (const e of CATALOG) {
      expect(page).toContain(`>${e.title}</button>`);
      expect(page).toContain(`${e.sizeMb} MB`);
      expect(page).toContain(`ImageNet top-1 ${e.top1.toFixed(1)} % (published)`);
    }
    expect(page).toContain('type="file"');
    expect(page).toContain('accept=".safetensors,.json"');
    expect(page).not.toContain('<progress');
  });

  it('ModelPickerView shows a progress bar with a cancel button while downloading, and errors as an alert', () => {
    const page = html({ ...idle, status: 'downloading', repo: 'timm/x', file: 'model.safetensors', receivedBytes: 11_450_000, totalBytes: 22_900_000 });
    expect(page).toContain('<progress value="11450000" max="22900000"');
    expect(page).toContain('11.4 of 22.9 MB (50 %)');
    expect(page).toContain('>Cancel</button>');
    expect(page).toMatch(/<button type="button" disabled=""[^>]*>DeiT-Tiny<\/button>/);
    expect(html({ ...idle, status: 'error', message: 'A file is missing: 404.' })).toContain('role="alert">A file is missing: 404.</p>');
  });

  it('ModelPicker renders the catalog through its controller', () => {
    const page = renderToStaticMarkup(createElement(ModelPicker, { onModelLoaded: noop, cache: null }));
    expect(page).toContain('Pretrained models');
    expect(page).toContain('DeiT-Small');
  });
});
