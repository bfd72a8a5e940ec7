import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { compilePlan } from './compile';
import { planFromText } from './plan';
import { useWasmBackend } from '../../tests/helpers/tf';
import { runForward, warmUp } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { TINY_VIT } from '../../tests/helpers/tiny-vit';

useWasmBackend();

const config = TINY_VIT;

/** A random plan of one or two methods, with parameters inside their valid ranges. */
function randomPlan(next: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const one = (layers: string) =>
    pick([
      () => `tome:r=${1 + Math.floor(next() * 6)}${layers}`,
      () => `pitome:ratio=${(0.5 + 0.45 * next()).toFixed(2)}${layers}`,
      () => `evit:keep=${(0.3 + 0.6 * next()).toFixed(2)}${layers}`,
      () => `topk:keep=${(0.3 + 0.6 * next()).toFixed(2)}${layers}`,
      () => `ats${layers ? `:${layers.slice(1)}` : ''}`,
      () => `mctf:r=${1 + Math.floor(next() * 4)}${layers}`,
      () => `diffrate${layers ? `:${layers.slice(1)}` : ''}`,
      () => `ppt:r=${1 + Math.floor(next() * 4)},threshold=${next() < 0.5 ? 0 : 1}${layers}`,
      () => `atc:keep=${(0.3 + 0.6 * next()).toFixed(2)},linkage=${Math.floor(next() * 3)}${layers}`,
      () => 'none',
    ])();
  // GTP runs alone: its graph spans the forward
  if (next() < 0.1) return `gtp:p=${1 + Math.floor(next() * 3)},graph=${Math.floor(next() * 3)},scale=${next() < 0.5 ? 1 : 0},sparsity=${next() < 0.5 ? 1 : 0.8}`;
  if (next() < 0.3) return one('');
  const first = one(',layers=1');
  const second = one(',layers=2-3');
  return first === 'none' || second === 'none' ? first : `${first}+${second}`;
}

describe('engine memory', () => {
  it('runForward keeps the tensor count and bytes flat over 1,000 forwards of random plans, a third of them recording evidence', async () => {
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const model = { config, weights: randomWeights(config, 2) };
    const pixels = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    await warmUp(model, [compilePlan(planFromText('tome:r=2', 4), config)]);
    const before = tf.memory();
    let peak = 0;
    for (let i = 0; i < 1000; i++) {
      const plan = compilePlan(planFromText(randomPlan(next), 4), config);
      const { logits } = await runForward(model, pixels, plan, { record: i % 3 === 0 ? 'fates' : i % 3 === 1 ? 'evidence' : 'none' });
      await logits.data();
      logits.dispose();
      peak = Math.max(peak, tf.memory().numBytes);
    }
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(peak).toBe(before.numBytes); // nothing is left over between forwards, at any point
    tf.dispose([pixels, ...listWeights(model.weights)]);
  }, 60_000);
});
