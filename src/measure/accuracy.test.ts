import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';
import { parseEvalSet } from '../io/eval-set';
import { greyBatches, type GreyImages } from '../io/grey-images';
import { loadModelDir } from '../model/load-node';
import { forwardTensors } from '../model/vit';
import { listWeights, randomWeights } from '../model/weights';
import { agreement, evaluateAccuracy } from './accuracy';

useWasmBackend();

describe('evaluateAccuracy', () => {
  it('evaluateAccuracy counts top-1 hits over batches, the last one partial', async () => {
    // 5 one-pixel images whose pixel value v makes the fake model predict class v.
    const set: GreyImages = { count: 5, size: 1, images: Uint8Array.from([2, 0, 1, 1, 2]), labels: Uint8Array.from([2, 1, 1, 0, 2]) };
    const predict = (pixels: tf.Tensor4D) => tf.tidy(() => tf.oneHot(tf.cast(tf.reshape(pixels, [-1]), 'int32'), 3).toFloat() as tf.Tensor2D);
    const r = await evaluateAccuracy(predict, greyBatches(set, { batchSize: 2, mean: 0, std: 1 / 255 }), { imageSize: 1, channels: 1 });
    expect(Array.from(r.predictions)).toEqual([2, 0, 1, 1, 2]);
    expect(r).toMatchObject({ n: 5, correct: 3, accuracy: 0.6 });
  });

  it('evaluateAccuracy leaves no tensors behind', async () => {
    const config = {
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 16,
      image_size: 4,
      patch_size: 2,
      num_channels: 1,
      layer_norm_eps: 1e-6,
      id2label: { 0: 'a', 1: 'b' },
    };
    const w = randomWeights(config, 1);
    const set: GreyImages = { count: 7, size: 4, images: Uint8Array.from({ length: 7 * 16 }, (_, i) => (i * 37) % 256), labels: new Uint8Array(7) };
    const predict = (px: tf.Tensor4D) => forwardTensors(config, w, px, { hooks: [null], propAttn: false, keepAssignments: false }).logits;
    const r = await expectNoLeak(() => evaluateAccuracy(predict, greyBatches(set, { batchSize: 3, mean: 0.5, std: 0.5 }), { imageSize: 4, channels: 1 }));
    expect(r.n).toBe(7);
    tf.dispose(listWeights(w));
  });

  it('agreement is the share of equal predictions', () => {
    expect(agreement([1, 2, 3, 4], [1, 0, 3, 0])).toBe(0.5);
    expect(() => agreement([1], [1, 2])).toThrowError(expect.objectContaining({ code: 'internal' }));
  });

  it('evaluateAccuracy in batches gives the bundled model the same predictions as a one-image-at-a-time loop', async () => {
    const model = loadModelDir('models/fmnist-vit');
    const { config, weights } = model;
    const set = parseEvalSet(new Uint8Array(readFileSync('public/data/fmnist-test-1000.bin')));
    const mean = config.image_mean![0];
    const std = config.image_std![0];
    const hooks = Array(config.num_hidden_layers).fill(null);
    const n = 60;

    const batched = await evaluateAccuracy(
      (px) => forwardTensors(config, weights, px, { hooks, propAttn: false, keepAssignments: false }).logits,
      greyBatches(set, { batchSize: 25, mean, std, limit: n }),
      { imageSize: 28, channels: 1 },
    );

    // The independent loop: one image, one forward, one argmax read back, in plain code.
    const single: number[] = [];
    for (let i = 0; i < n; i++) {
      const px = Float32Array.from(set.images.subarray(i * 784, (i + 1) * 784), (v) => (v / 255 - mean) / std);
      const logits = tf.tidy(() => forwardTensors(config, weights, tf.tensor4d(px, [1, 28, 28, 1]), { hooks, propAttn: false, keepAssignments: false }).logits);
      const row = await logits.data();
      logits.dispose();
      single.push(row.indexOf(Math.max(...row)));
    }
    const correct = single.filter((p, i) => p === set.labels[i]).length;
    expect(Array.from(batched.predictions)).toEqual(single);
    expect(batched.correct).toBe(correct);
    tf.dispose(listWeights(weights));
  });
});
