import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { applyAssignment, sumInto } from '../tokens/assignment';
import { withDevicePaths } from '../tokens/kernel-paths';
import { MCTF_DEFAULTS, disposeMatch, mctf, mctfLayerR, mctfMatch, type MctfLayerParams, type MctfMatch } from './mctf';
import type { ReduceInput, Reduction } from '../tokens/types';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';

useWasmBackend();

function input(x: tf.Tensor3D, probs: tf.Tensor4D, size?: tf.Tensor3D): ReduceInput {
  const [batch, n] = x.shape;
  return {
    x,
    size: size ?? tf.ones([batch, n, 1]),
    sizeIsTracked: size !== undefined,
    attention: { probs },
    layer: 1,
    depth: 12,
    classToken: true,
    distillToken: false,
  };
}

function disposeReduction(r: Reduction): void {
  tf.dispose([r.assignment.target, r.assignment.coeff, r.features ?? [], r.attnNext ?? []]);
}

/** Softmax-normalised random attention [B, H, N, N]. */
function randomProbs(batch: number, heads: number, n: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.softmax(tf.mul(tf.randomNormal([batch, heads, n, n], 0, 1, 'float32', seed), 2)) as tf.Tensor4D);
}

/**
 * Twelve tokens, one-hot features e_n with a few extra components, uniform attention (so the
 * informativeness criterion is 1 everywhere and pooling 1 is a plain mean):
 * - token 7 = e7 + 0.9·e4: A token 4 and B token 7 are the most similar pair (score (1 + 0.669)/2);
 * - token 11 = e11 + 0.5·e8: B token 11 prefers A token 8 (score 0.724);
 * - tokens 1, 3, 5, 9 = e_b + c·e2 with c = 0.1, 0.2, 0.3, 0.4: scores 0.550, 0.598, 0.644, 0.686 with A token 2.
 * r = 2 → r1 = 1: A token 4 merges into B token 7 (A token 2's best, 0.686, and A token 8's, 0.724, are lower).
 * r2 = 1 on the A tokens left (0, 2, 6, 8, 10): B best scores 11: 0.724, 9: 0.686, 5: 0.644, 3: 0.598,
 * 1: 0.550, 7: 0.5 → B token 11 merges into A token 8.
 * Output rows: A left [0, 2, 6, 8(+11), 10] → rows 0–4; B left in score order [9, 5, 3, 1, 7(+4)] → rows 5–9.
 */
function handCase(): { x: tf.Tensor3D; probs: tf.Tensor4D } {
  const n = 12;
  const rows: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  rows[7][4] = 0.9;
  rows[11][8] = 0.5;
  [1, 3, 5, 9].forEach((b, k) => (rows[b][2] = 0.1 * (k + 1)));
  return { x: tf.tensor3d([rows]), probs: tf.fill([1, 2, n, n], 1 / n) as tf.Tensor4D };
}

const HAND_TARGET = [0, 8, 1, 7, 9, 6, 2, 9, 3, 5, 4, 3];
const params = (over: Partial<MctfLayerParams>): MctfLayerParams => ({ ...MCTF_DEFAULTS, ...over });

describe('mctf', () => {
  it('reduce merges the hand-worked twelve-token case in the official order', () => {
    const { x, probs } = handCase();
    const red = mctf.reduce(input(x, probs), params({ r: 2 }));
    expect(red.assignment.nOut).toBe(10);
    expect(red.assignment.target.arraySync()).toEqual([HAND_TARGET]);
    const merged = applyAssignment(red.assignment, x).arraySync()[0];
    const xs = x.arraySync()[0];
    const mean = (i: number, j: number) => xs[i].map((v, c) => (v + xs[j][c]) / 2);
    expect(merged[3]).toEqual(mean(8, 11).map((v) => expect.closeTo(v, 6)));
    expect(merged[9]).toEqual(mean(4, 7).map((v) => expect.closeTo(v, 6)));
    expect(merged[5]).toEqual(xs[9].map((v) => expect.closeTo(v, 6)));
    const sizes = sumInto(red.assignment, tf.ones([1, 12, 1]))
      .arraySync()[0]
      .map((s) => s[0]);
    expect(sizes).toEqual([1, 1, 1, 2, 1, 1, 1, 1, 1, 2]);
    // Uniform attention: each merged key column gathers size/12, query rows stay uniform.
    const next = red.attnNext!.arraySync()[0][1];
    next.forEach((row) => row.forEach((v, u) => expect(v).toBeCloseTo(sizes[u] / 12, 6)));
    tf.dispose([x, probs]);
    disposeReduction(red);
  });

  it('reduce with max pooling takes the channel-wise max of each group', () => {
    const { x, probs } = handCase();
    const red = mctf.reduce(input(x, probs), params({ r: 2, pooling: 2, oneStepAhead: false }));
    expect(red.assignment.target.arraySync()).toEqual([HAND_TARGET]);
    const xs = x.arraySync()[0];
    const features = red.features!.arraySync()[0];
    expect(features[9]).toEqual(xs[4].map((v, c) => Math.max(v, xs[7][c])));
    expect(features[3]).toEqual(xs[8].map((v, c) => Math.max(v, xs[11][c])));
    expect(red.attnNext).toBeUndefined();
    tf.dispose([x, probs]);
    disposeReduction(red);
  });

  it('reduce one-directional merges all r tokens A→B and keeps every B token in index order', () => {
    const { x, probs } = handCase();
    const red = mctf.reduce(input(x, probs), params({ r: 2, bidirection: false }));
    // A best scores: 4 → 7 (0.834), 8 → 11 (0.724); A left [0, 2, 6, 10] → rows 0–3, B 1, 3, …, 11 → rows 4–9.
    expect(red.assignment.target.arraySync()).toEqual([[0, 4, 1, 5, 7, 6, 2, 7, 9, 8, 3, 9]]);
    tf.dispose([x, probs]);
    disposeReduction(red);
  });

  it('reduce with r = 0 keeps every token in order and hands on the attention unchanged', () => {
    const x = tf.randomNormal([2, 14, 5], 0, 1, 'float32', 1) as tf.Tensor3D;
    const probs = randomProbs(2, 2, 14, 2);
    const red = mctf.reduce(input(x, probs), params({ r: 0 }));
    expect(red.assignment.nOut).toBe(14);
    expect(red.assignment.target.arraySync()).toEqual([0, 1].map(() => Array.from({ length: 14 }, (_, i) => i)));
    expect(red.assignment.coeff.arraySync()).toEqual([0, 1].map(() => Array(14).fill(1)));
    expect(red.attnNext!.arraySync()).toEqual(probs.arraySync());
    tf.dispose([x, probs]);
    disposeReduction(red);
  });

  it('reduce below 10 tokens (where the official code fails) is the identity', () => {
    const x = tf.randomNormal([1, 9, 4], 0, 1, 'float32', 3) as tf.Tensor3D;
    const probs = randomProbs(1, 1, 9, 4);
    expect(mctfLayerR(9, 16, 1)).toBeLessThan(0);
    const red = mctf.reduce(input(x, probs), MCTF_DEFAULTS);
    expect(red.assignment.nOut).toBe(9);
    expect(red.assignment.target.arraySync()).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8]]);
    tf.dispose([x, probs]);
    disposeReduction(red);
  });

  it('reduce never merges the class token and never merges into it', () => {
    for (const seed of [5, 6, 7]) {
      const x = tf.randomNormal([2, 40, 8], 0, 1, 'float32', seed) as tf.Tensor3D;
      const probs = randomProbs(2, 3, 40, seed + 100);
      for (const bidirection of [true, false]) {
        const red = mctf.reduce(input(x, probs), params({ r: 100, bidirection })); // clamped to 19
        expect(red.assignment.nOut).toBe(21);
        for (const row of red.assignment.target.arraySync()) {
          expect(row[0]).toBe(0);
          expect(row.filter((t) => t === 0)).toHaveLength(1);
        }
        disposeReduction(red);
      }
      tf.dispose([x, probs]);
    }
  });

  it('reduce keeps the total size and gives every output row an owner', () => {
    const x = tf.randomNormal([2, 30, 6], 0, 1, 'float32', 8) as tf.Tensor3D;
    const probs = randomProbs(2, 2, 30, 9);
    const size = tf.tensor3d([0, 1].map((b) => Array.from({ length: 30 }, (_, i) => [1 + ((i * 7 + b) % 4)])));
    const red = mctf.reduce(input(x, probs, size), params({ r: 8 }));
    const merged = sumInto(red.assignment, size);
    expect(tf.sum(merged, [1, 2]).arraySync()).toEqual(tf.sum(size, [1, 2]).arraySync());
    for (const row of red.assignment.target.arraySync()) {
      expect(new Set(row).size).toBe(22);
      expect(Math.min(...row)).toBe(0);
      expect(Math.max(...row)).toBe(21);
    }
    tf.dispose([x, probs, size, merged]);
    disposeReduction(red);
  });

  it('reduce hands on attention whose rows sum to 1 for pooling 0, 1 and 3', () => {
    const x = tf.randomNormal([2, 25, 6], 0, 1, 'float32', 10) as tf.Tensor3D;
    const probs = randomProbs(2, 3, 25, 11);
    const size = tf.tensor3d([0, 1].map((b) => Array.from({ length: 25 }, (_, i) => [1 + ((i + b) % 3)])));
    for (const pooling of [0, 1, 3] as const) {
      const red = mctf.reduce(input(x, probs, size), params({ r: 6, pooling }));
      expect(red.attnNext!.shape).toEqual([2, 3, 19, 19]);
      const rowSums = (tf.sum(red.attnNext!, 3).arraySync() as number[][][]).flat(2);
      rowSums.forEach((s) => expect(s).toBeCloseTo(1, 5));
      disposeReduction(red);
    }
    tf.dispose([x, probs, size]);
  });

  it('reduce gives each image of a batch the result it gets alone', () => {
    const x = tf.randomNormal([3, 33, 7], 0, 1, 'float32', 12) as tf.Tensor3D;
    const probs = randomProbs(3, 2, 33, 13);
    const size = tf.tensor3d([0, 1, 2].map((b) => Array.from({ length: 33 }, (_, i) => [1 + ((i * 5 + b) % 3)])));
    const p = params({ r: 7 });
    const batched = mctf.reduce(input(x, probs, size), p);
    for (let b = 0; b < 3; b++) {
      const one = (t: tf.Tensor) => tf.slice(t, b, 1);
      const alone = mctf.reduce(input(one(x) as tf.Tensor3D, one(probs) as tf.Tensor4D, one(size) as tf.Tensor3D), p);
      expect(one(batched.assignment.target).arraySync()).toEqual(alone.assignment.target.arraySync());
      const diff = tf.max(tf.abs(tf.sub(one(batched.attnNext!), alone.attnNext!))).dataSync()[0];
      expect(diff).toBeLessThan(1e-6);
      const coeffDiff = tf.max(tf.abs(tf.sub(one(batched.assignment.coeff), alone.assignment.coeff))).dataSync()[0];
      expect(coeffDiff).toBeLessThan(1e-6);
      disposeReduction(alone);
    }
    tf.dispose([x, probs, size]);
    disposeReduction(batched);
  });

  it('reduce returns only its result tensors (no leak)', async () => {
    const x = tf.randomNormal([2, 20, 6], 0, 1, 'float32', 14) as tf.Tensor3D;
    const probs = randomProbs(2, 2, 20, 15);
    const size = tf.ones([2, 20, 1]) as tf.Tensor3D;
    for (const [over, returned] of [
      [{ r: 4 }, 3],
      [{ r: 4, pooling: 2 as const }, 4],
      [{ r: 4, oneStepAhead: false }, 2],
      [{ r: 0 }, 3],
    ] as const) {
      const red = await expectNoLeak(() => mctf.reduce(input(x, probs, size), params(over)), { returned });
      disposeReduction(red);
    }
    tf.dispose([x, probs, size]);
  });

  it('decides in host memory on wasm exactly as the device path does', () => {
    const indexRows = (m: MctfMatch) =>
      [m.unmIdx, m.srcIdx, m.dstIdx, ...(m.second ? [m.second.unmIdx, m.second.srcIdx, m.second.dstIdx] : [])].map((t) => t.arraySync());
    const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    const settings: [number, Partial<MctfLayerParams>, boolean][] = [
      [1, {}, true],
      [2, {}, true],
      [1, { bidirection: false, pooling: 0 }, true],
      [1, { pooling: 2, tauSim: 2 }, true],
      [2, { pooling: 3, tauInfo: 0, tauSize: 1 }, true],
      [1, { r: 9 }, false],
    ];
    settings.forEach(([batch, over, classToken], k) => {
      const n = 41 + k;
      const x = tf.randomNormal([batch, n, 16], 0, 1, 'float32', 20 + k) as tf.Tensor3D;
      const probs = randomProbs(batch, 3, n, 40 + k);
      const size = tf.tensor3d(Array.from({ length: batch }, (_, b) => Array.from({ length: n }, (_, i) => [1 + ((i * 3 + b) % 5)])));
      const inp = { ...input(x, probs, size), classToken };
      const p = params({ r: 12, ...over });
      const host = mctfMatch(inp, p)!;
      const device = withDevicePaths(() => mctfMatch(inp, p)!);
      expect(host.host).toBeDefined();
      expect(device.host).toBeUndefined();
      expect(indexRows(host)).toEqual(indexRows(device));
      const onHost = mctf.reduce(inp, p);
      const onDevice = withDevicePaths(() => mctf.reduce(inp, p));
      expect(onHost.assignment.target.arraySync()).toEqual(onDevice.assignment.target.arraySync());
      expect(maxDiff(onHost.assignment.coeff, onDevice.assignment.coeff)).toBeLessThan(1e-6);
      expect(maxDiff(onHost.attnNext!, onDevice.attnNext!)).toBeLessThan(1e-6);
      if (p.pooling === 2) expect(maxDiff(onHost.features!, onDevice.features!)).toBe(0);
      [host, device].forEach(disposeMatch);
      [onHost, onDevice].forEach(disposeReduction);
      tf.dispose([x, probs, size]);
    });
  });

  it('mctfLayerR follows the official rules (guard at 10 tokens, ratio, clamp to half)', () => {
    expect(mctfLayerR(197, 16, 1)).toBe(16);
    expect(mctfLayerR(197, 0.35, 1)).toBe(68); // int(196 · 0.35)
    expect(mctfLayerR(24, 100, 1)).toBe(11); // 24 − 100 < 10 → 14 → min(14, 23 // 2)
    expect(mctfLayerR(11, 16, 1)).toBe(1);
    expect(mctfLayerR(10, 16, 1)).toBe(0);
    expect(mctfLayerR(10, 0.35, 1)).toBe(0);
    expect(mctfLayerR(11, 0.35, 1)).toBe(3); // the guard does not bite on a ratio: int(10 · 0.35)
    expect(mctfLayerR(9, 16, 1)).toBe(-8); // official failure: 9 − 10 = −1 is read as a ratio
    // r = 16 at blocks 1–11 of DeiT: 197, 181, …, 21 (docs/METHODS.md#mctf)
    let n = 197;
    for (let layer = 1; layer <= 11; layer++) n -= mctfLayerR(n, 16, 1);
    expect(n).toBe(21);
  });

  it('overheadFlops counts the A×B similarity on D channels, and nothing on an idle layer', () => {
    const dims = { hidden: 192, heads: 3 };
    expect(mctf.overheadFlops(197, dims, MCTF_DEFAULTS)).toBe(99 * 98 * 192);
    expect(mctf.overheadFlops(10, dims, MCTF_DEFAULTS)).toBe(0);
    expect(mctf.overheadFlops(197, dims, params({ r: 0 }))).toBe(0);
  });

  it('reduce refuses a distillation token and a fractional r above 1', () => {
    const x = tf.randomNormal([1, 12, 4], 0, 1, 'float32', 16) as tf.Tensor3D;
    const probs = randomProbs(1, 1, 12, 17);
    expect(() => mctf.reduce({ ...input(x, probs), distillToken: true }, MCTF_DEFAULTS)).toThrow(/distillation/);
    expect(() => mctf.reduce(input(x, probs), params({ r: 2.5 }))).toThrow(/whole number/);
    tf.dispose([x, probs]);
  });
});
