import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useWasmBackend } from '../../tests/helpers/tf';
import { AdamW } from './adamw';

useWasmBackend();

/** PyTorch's AdamW step, written out in float64 for one scalar parameter. */
function referenceAdamW(p: number, grads: number[], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number {
  let m = 0;
  let v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    p *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    p -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
  });
  return p;
}

describe('AdamW', () => {
  it('update follows the decoupled-weight-decay formula step by step', async () => {
    const p = tf.variable(tf.tensor1d([0.5, -2]));
    const q = tf.variable(tf.tensor1d([3]));
    const opt = new AdamW([p, q], [true, false], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, clipNorm: 0 });
    const gradsP = [
      [0.3, -0.1],
      [0.2, 0.4],
      [-0.5, 0.05],
    ];
    const gradsQ = [[1], [-1], [0.5]];
    for (let s = 0; s < 3; s++) {
      const g = [tf.tensor1d(gradsP[s]), tf.tensor1d(gradsQ[s])];
      opt.update(g, 0.01).dispose();
      tf.dispose(g);
    }
    const got = [...(await p.data()), ...(await q.data())];
    const want = [
      referenceAdamW(
        0.5,
        gradsP.map((g) => g[0]),
        0.01,
        0.1,
      ),
      referenceAdamW(
        -2,
        gradsP.map((g) => g[1]),
        0.01,
        0.1,
      ),
      referenceAdamW(
        3,
        gradsQ.map((g) => g[0]),
        0.01,
        0,
      ), // no decay for q
    ];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(opt.step).toBe(3);
    opt.dispose();
    tf.dispose([p, q]);
  });

  it('update with a zero gradient only shrinks decayed parameters by (1 − lr·wd)', async () => {
    const p = tf.variable(tf.tensor1d([2, -4]));
    const opt = new AdamW([p], [true], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5, clipNorm: 1 });
    const g = tf.zeros([2]);
    opt.update([g], 0.1).dispose();
    expect(Array.from(await p.data())).toEqual([2 * 0.95, -4 * 0.95].map(Math.fround));
    opt.dispose();
    tf.dispose([p, g]);
  });

  it('update clips the gradient to the global norm and returns the norm before clipping', async () => {
    // One step of Adam moves every coordinate by ~lr·sign(g) regardless of scale, so clipping shows
    // in the second moment: compare against the reference fed the clipped gradient.
    const p = tf.variable(tf.tensor1d([1, 1]));
    const opt = new AdamW([p], [false], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clipNorm: 1 });
    const g1 = tf.tensor1d([3, 4]); // norm 5 -> scaled by 1/5
    const g2 = tf.tensor1d([0.3, 0.4]); // norm 0.5 -> unchanged
    const n1 = opt.update([g1], 0.1);
    expect((await n1.data())[0]).toBeCloseTo(5, 5);
    opt.update([g2], 0.1).dispose();
    const got = await p.data();
    expect(got[0]).toBeCloseTo(referenceAdamW(1, [0.6, 0.3], 0.1, 0), 5);
    expect(got[1]).toBeCloseTo(referenceAdamW(1, [0.8, 0.4], 0.1, 0), 5);
    opt.dispose();
    tf.dispose([p, g1, g2, n1]);
  });
});
