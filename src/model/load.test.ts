import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from '../../tests/helpers/tf';
import { writeModelDir } from '../train/export';
import type { VitConfig } from './config';
import { loadModelFromFiles } from './load';
import { loadModelDir } from './load-node';
import { forwardTensors } from './vit';
import { listWeights, randomWeights, weightsToTimm, type VitWeights } from './weights';
import { mapWeights } from '../train/params';

useWasmBackend();

const config: VitConfig = {
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  image_size: 8,
  patch_size: 4,
  num_channels: 1,
  layer_norm_eps: 1e-6,
  id2label: { 0: 'zero', 1: 'one', 2: 'two' },
  distilled: false,
  image_mean: [0.25],
  image_std: [0.5],
};

const dir = mkdtempSync(join(tmpdir(), 'tokenscope-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Random weights with every tensor perturbed (LayerNorm at identity and zero biases would hide a swap). */
function perturbedWeights(): VitWeights {
  const w = randomWeights(config, 5);
  let i = 0;
  const out = mapWeights(w, (t) => tf.add(t, tf.randomNormal(t.shape, 0, 0.2, 'float32', 50 + i++)));
  tf.dispose(listWeights(w));
  return out;
}

const logitsOf = (w: VitWeights, pixels: tf.Tensor4D) => forwardTensors(config, w, pixels, { hooks: [null, null], propAttn: false, keepAssignments: false }).logits;

describe('model loading', () => {
  it('loadModelDir reads back an exported model that gives bit-identical logits', async () => {
    const original = perturbedWeights();
    writeModelDir(dir, config, await weightsToTimm(config, original));
    const loaded = loadModelDir(dir);
    expect(loaded.config).toEqual(config);
    const pixels = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
    const [a, b] = [logitsOf(original, pixels), logitsOf(loaded.weights, pixels)];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([a, b, pixels, ...listWeights(original), ...listWeights(loaded.weights)]);
  });

  it('the exported model.safetensors uses Hugging Face ViT names with q, k and v split', () => {
    const header = readFileSync(join(dir, 'model.safetensors'));
    const n = Number(header.readBigUInt64LE(0));
    const names = Object.keys(JSON.parse(header.subarray(8, 8 + n).toString('utf8'))).filter((k) => k !== '__metadata__');
    expect(names).toContain('vit.encoder.layer.1.attention.attention.value.weight');
    expect(names).toContain('vit.embeddings.patch_embeddings.projection.weight');
    expect(names).toContain('classifier.bias');
    expect(names.some((k) => k.includes('qkv') || k.startsWith('blocks.'))).toBe(false);
  });

  it('loadModelFromFiles rejects a bad config, a damaged file and a missing tensor, each with its code', () => {
    const configJson = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const bytes = new Uint8Array(readFileSync(join(dir, 'model.safetensors')));
    expect(() => loadModelFromFiles({ ...configJson, num_attention_heads: 3 }, bytes)).toThrowError(expect.objectContaining({ code: 'shape-mismatch' }));
    expect(() => loadModelFromFiles(configJson, bytes.subarray(0, bytes.length - 10))).toThrowError(expect.objectContaining({ code: 'safetensors-malformed' }));
    expect(() => loadModelFromFiles({ ...configJson, num_hidden_layers: 3 }, bytes)).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining('blocks.2') }),
    );
  });

  it('loadModelDir names the missing file and says what a model directory needs', () => {
    const empty = mkdtempSync(join(tmpdir(), 'tokenscope-empty-'));
    try {
      expect(() => loadModelDir(empty)).toThrowError(
        expect.objectContaining({ code: 'data-missing', message: expect.stringMatching(/config\.json does not exist.*config\.json and model\.safetensors/) }),
      );
      writeFileSync(join(empty, 'config.json'), '{not json');
      expect(() => loadModelDir(empty)).toThrowError(expect.objectContaining({ code: 'data-malformed' }));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
