/**
 * The bundled model (models/fmnist-vit) checked against the independent float64 forward in
 * tests/helpers/reference-vit.ts: logits on a few test images, and top-1 accuracy on the first 200
 * Fashion-MNIST test images.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toTimmNames } from '../../src/io/checkpoint-names';
import { loadFashionMnist } from '../../src/io/node-files';
import { parseSafetensors } from '../../src/io/safetensors';
import { loadModelDir } from '../../src/model/load-node';
import type { Model } from '../../src/model/run';
import { forwardTensors } from '../../src/model/vit';
import { listWeights, type NamedArrays } from '../../src/model/weights';
import { referenceForward } from '../helpers/reference-vit';
import { useWasmBackend } from '../helpers/tf';

useWasmBackend();

const DIR = 'models/fmnist-vit';
const N = 200;

let model: Model;
let named: NamedArrays;
let test: ReturnType<typeof loadFashionMnist>;

beforeAll(() => {
  model = loadModelDir(DIR);
  // The reference reads the file on its own: only the name mapping is shared with the code under test.
  const file = parseSafetensors(new Uint8Array(readFileSync(`${DIR}/model.safetensors`)));
  named = toTimmNames(new Map([...file.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }])));
  test = loadFashionMnist('test');
});
afterAll(() => tf.dispose(listWeights(model.weights)));

/** Image i as the reference wants it: [S][S][1] normalised with the config's mean and std, in float64. */
function referencePixels(i: number): number[][][] {
  const [mean, std] = [model.config.image_mean![0], model.config.image_std![0]];
  return Array.from({ length: 28 }, (_, y) => Array.from({ length: 28 }, (_, x) => [(test.images[i * 784 + y * 28 + x] / 255 - mean) / std]));
}

function ourLogits(first: number, count: number): Float32Array {
  const { config, weights } = model;
  const [mean, std] = [config.image_mean![0], config.image_std![0]];
  const px = Float32Array.from(test.images.subarray(first * 784, (first + count) * 784), (v) => (v / 255 - mean) / std);
  const logits = tf.tidy(
    () =>
      forwardTensors(config, weights, tf.tensor4d(px, [count, 28, 28, 1]), {
        hooks: Array(config.num_hidden_layers).fill(null),
        propAttn: false,
        keepAssignments: false,
      }).logits,
  );
  const out = logits.dataSync() as Float32Array;
  logits.dispose();
  return out;
}

const argmax = (row: ArrayLike<number>) => Array.prototype.indexOf.call(row, Math.max(...Array.from(row)));

describe('bundled model models/fmnist-vit', () => {
  it('reproduces the float64 reference forward to within 1e-3 on five test images', () => {
    const ours = ourLogits(0, 5);
    for (let i = 0; i < 5; i++) {
      const ref = referenceForward(model.config, named, referencePixels(i));
      expect(ref).toHaveLength(10);
      ref.forEach((v, c) => expect(Math.abs(ours[i * 10 + c] - v), `image ${i}, class ${c}`).toBeLessThan(1e-3));
    }
  });

  it(`matches the reference's top-1 accuracy on the first ${N} test images to within one image`, () => {
    const ours = ourLogits(0, N);
    let oursCorrect = 0;
    let refCorrect = 0;
    for (let i = 0; i < N; i++) {
      if (argmax(ours.subarray(i * 10, (i + 1) * 10)) === test.labels[i]) oursCorrect++;
      if (argmax(referenceForward(model.config, named, referencePixels(i))) === test.labels[i]) refCorrect++;
    }
    expect(Math.abs(oursCorrect - refCorrect)).toBeLessThanOrEqual(1);
    // A trained model, not a lucky one: the model card reports 88.7% on the full test split.
    expect(refCorrect / N).toBeGreaterThan(0.8);
  });
});
