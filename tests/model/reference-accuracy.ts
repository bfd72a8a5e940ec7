/**
 * Top-1 accuracy of a model folder on the Fashion-MNIST test split, measured twice: by the engine
 * (TF.js, wasm) and by the independent float64 forward of tests/helpers/reference-vit.ts, which
 * reads model.safetensors and config.json itself (only the tensor-name mapping is shared) and
 * preprocesses exactly as config.json documents. The model card quotes both. Usage:
 *   npx tsx tests/model/reference-accuracy.ts [model dir = models/fmnist-vit] [images = 10000]
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { toTimmNames } from '../../src/io/checkpoint-names';
import { loadFashionMnist } from '../../src/io/node-files';
import { parseSafetensors } from '../../src/io/safetensors';
import { useBackend } from '../../src/model/backend';
import { parseConfig } from '../../src/model/config';
import { loadModelDir } from '../../src/model/load-node';
import { forwardTensors } from '../../src/model/vit';
import { referenceForward } from '../helpers/reference-vit';

const [dir = 'models/fmnist-vit', limitArg = '10000'] = process.argv.slice(2);
const test = loadFashionMnist('test');
const count = Math.min(Number(limitArg), test.labels.length);
const argmax = (row: ArrayLike<number>) => Array.prototype.indexOf.call(row, Math.max(...Array.from(row)));

// the reference: its own reading of config.json and the weights file
const config = parseConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')));
const file = parseSafetensors(new Uint8Array(readFileSync(`${dir}/model.safetensors`)));
const named = toTimmNames(new Map([...file.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }])));
const [mean, std] = [config.image_mean![0], config.image_std![0]];
const S = config.image_size;
let refCorrect = 0;
const started = Date.now();
for (let i = 0; i < count; i++) {
  const pixels = Array.from({ length: S }, (_, y) => Array.from({ length: S }, (_, x) => [(test.images[i * S * S + y * S + x] / 255 - mean) / std]));
  if (argmax(referenceForward(config, named, pixels)) === test.labels[i]) refCorrect++;
}
const refSeconds = (Date.now() - started) / 1000;

// the engine
await useBackend('wasm');
const model = loadModelDir(dir);
let ourCorrect = 0;
for (let first = 0; first < count; first += 250) {
  const n = Math.min(250, count - first);
  const px = Float32Array.from(test.images.subarray(first * S * S, (first + n) * S * S), (v) => (v / 255 - mean) / std);
  const logits = tf.tidy(
    () =>
      forwardTensors(model.config, model.weights, tf.tensor4d(px, [n, S, S, 1]), {
        hooks: Array(model.config.num_hidden_layers).fill(null),
        propAttn: false,
        keepAssignments: false,
      }).logits,
  );
  const values = logits.dataSync();
  logits.dispose();
  for (let i = 0; i < n; i++) if (argmax(values.subarray(i * 10, (i + 1) * 10)) === test.labels[first + i]) ourCorrect++;
}
const pct = (c: number) => `${((100 * c) / count).toFixed(2)}% (${c} / ${count})`;
console.log(`${dir} on ${count} Fashion-MNIST test images`);
console.log(`  engine (TF.js wasm, float32):     ${pct(ourCorrect)}`);
console.log(`  independent reference (float64): ${pct(refCorrect)}  [${refSeconds.toFixed(0)} s]`);
console.log(`  difference: ${((100 * Math.abs(ourCorrect - refCorrect)) / count).toFixed(2)} points`);
