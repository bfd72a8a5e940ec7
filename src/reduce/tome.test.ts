import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { applyAssignment, disposeAssignment, sumInto } from '../tokens/assignment';
import { bipartiteSoftMatching, disposeTomeMatch, parseR, tome, type TomeMatch } from './tome';
import type { ReduceInput } from '../tokens/types';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';

useWasmBackend();

const s = (v: number) => Math.sqrt(1 - v * v);

/**
 * The worked example of docs/METHODS.md#tome: tokens [c, 1, 2, 3, 4, 5, 6], A = [c, 2, 4, 6], B = [1, 3, 5].
 * Metric axes: (c, u1, u3, u5, w). B tokens are u1, u3, u5; A tokens lean on one of them with
 * cosine 0.8 (2→1), 0.9 (4→3), 0.5 (6→5) and put the rest on w.
 */
const WORKED_METRIC = [
  [1, 0, 0, 0, 0], // c
  [0, 1, 0, 0, 0], // 1
  [0, 0.8, 0, 0, s(0.8)], // 2
  [0, 0, 1, 0, 0], // 3
  [0, 0, 0.9, 0, s(0.9)], // 4
  [0, 0, 0, 1, 0], // 5
  [0, 0, 0, 0.5, s(0.5)], // 6
];

function withMatch<T>(metric: number[][][], r: number, opts: { classToken: boolean; distillToken: boolean; size?: number[][] }, fn: (m: TomeMatch) => T): T {
  const m = tf.tensor3d(metric);
  const size = opts.size ? (tf.expandDims(tf.tensor2d(opts.size), 2) as tf.Tensor3D) : undefined;
  const match = bipartiteSoftMatching(m, r, { ...opts, size });
  try {
    return fn(match);
  } finally {
    disposeTomeMatch(match);
    tf.dispose([m, size as tf.Tensor]);
  }
}

describe('parseR', () => {
  it('parseR repeats a constant r on every layer', () => {
    expect(parseR(4, 8)).toEqual([8, 8, 8, 8]);
  });

  it('parseR (16, -1) on 12 layers gives the decreasing schedule of docs/METHODS.md#tome', () => {
    // docs/METHODS.md#tome: r = [32, 29, 26, 23, 20, 17, 14, 11, 8, 5, 2, 0]
    expect(parseR(12, { r: 16, inflect: -1 })).toEqual([32, 29, 26, 23, 20, 17, 14, 11, 8, 5, 2, 0]);
  });

  it('parseR truncates toward zero like Python int()', () => {
    // lo = int(3·1.5) = 4, hi = 2, step = -2/3: 4, 3.33, 2.67, 2 -> 4, 3, 2, 2
    expect(parseR(4, { r: 3, inflect: -0.5 })).toEqual([4, 3, 2, 2]);
  });

  it('parseR zero-pads a short list and keeps a long one as is', () => {
    expect(parseR(5, [8, 4])).toEqual([8, 4, 0, 0, 0]);
    expect(parseR(2, [1, 2, 3])).toEqual([1, 2, 3]);
  });
});

describe('bipartiteSoftMatching', () => {
  it('bipartiteSoftMatching reproduces the N=7 worked example of docs/METHODS.md#tome', () => {
    withMatch([WORKED_METRIC], 2, { classToken: true, distillToken: false }, (m) => {
      expect(m.r).toBe(2);
      // output [c, 6, {1,2}, {3,4}, 5]
      expect(m.assignment.nOut).toBe(5);
      expect(m.assignment.target.arraySync()).toEqual([[0, 2, 2, 3, 3, 4, 1]]);
      expect(m.indices!.unmIdx.arraySync()).toEqual([[0, 3]]); // CLS and token 6, A-index order
      expect(m.indices!.srcIdx.arraySync()).toEqual([[2, 1]]); // tokens 4 (0.9) then 2 (0.8)
      expect(m.indices!.dstIdx.arraySync()).toEqual([[1, 0]]); // into tokens 3 and 1
    });
  });

  it('bipartiteSoftMatching weights merged rows by size', () => {
    // worked example with x = token number and size 3 on token 1: row {1,2} = (3·1 + 1·2)/4
    const size = [[1, 3, 1, 1, 1, 1, 1]];
    withMatch([WORKED_METRIC], 2, { classToken: true, distillToken: false, size }, (m) => {
      const x = tf.tensor3d([[[0], [1], [2], [3], [4], [5], [6]]]);
      const sizes = tf.tensor3d([[[1], [3], [1], [1], [1], [1], [1]]]);
      const merged = applyAssignment(m.assignment, x);
      const mergedSize = sumInto(m.assignment, sizes);
      const rows = (merged.arraySync() as number[][][])[0].map(([v]) => v);
      expect(rows[0]).toBe(0);
      expect(rows[1]).toBe(6);
      expect(rows[2]).toBeCloseTo(1.25, 6);
      expect(rows[3]).toBeCloseTo(3.5, 6);
      expect(rows[4]).toBe(5);
      expect(mergedSize.arraySync()).toEqual([[[1], [1], [4], [2], [1]]]);
      tf.dispose([x, sizes, merged, mergedSize]);
    });
  });

  it('bipartiteSoftMatching with r = 0 keeps every token in order with coefficient 1', () => {
    withMatch([WORKED_METRIC], 0, { classToken: true, distillToken: false }, (m) => {
      expect(m.r).toBe(0);
      expect(m.indices).toBeNull();
      expect(m.assignment.nOut).toBe(7);
      expect(m.assignment.target.arraySync()).toEqual([[0, 1, 2, 3, 4, 5, 6]]);
      expect(m.assignment.coeff.arraySync()).toEqual([[1, 1, 1, 1, 1, 1, 1]]);
    });
  });

  it('bipartiteSoftMatching clamps r past half the unprotected tokens', () => {
    // N = 7 with CLS: r ≤ (7 − 1)//2 = 3; every non-CLS A token merges
    withMatch([WORKED_METRIC], 50, { classToken: true, distillToken: false }, (m) => {
      expect(m.r).toBe(3);
      expect(m.assignment.nOut).toBe(4);
      expect(m.indices!.unmIdx.arraySync()).toEqual([[0]]);
      expect(m.assignment.target.arraySync()).toEqual([[0, 1, 1, 2, 2, 3, 3]]);
    });
  });

  it('bipartiteSoftMatching without a class token keeps unmerged A in score order', () => {
    // A = [0, 2, 4], B = [1, 3]; best scores: token 0 → 0.5, token 2 → 0.9, token 4 → 0.7; r = 1
    const metric = [
      [0.5, 0, s(0.5), 0],
      [1, 0, 0, 0],
      [0.9, 0, 0, s(0.9)],
      [0, 1, 0, 0],
      [0, 0.7, s(0.7), 0],
    ];
    withMatch([metric], 1, { classToken: false, distillToken: false }, (m) => {
      expect(m.indices!.srcIdx.arraySync()).toEqual([[1]]);
      expect(m.indices!.unmIdx.arraySync()).toEqual([[2, 0]]); // 0.7 before 0.5
      // output [4, 0, {1,2}, 3]
      expect(m.assignment.target.arraySync()).toEqual([[1, 2, 2, 3, 0]]);
    });
  });

  it('bipartiteSoftMatching never merges the class token, even into an identical B token', () => {
    // CLS (token 0) equals token 1; the other A tokens are far from everything
    const metric = [
      [1, 0, 0, 0],
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0.9, s(0.9), 0],
      [0, 0, 0, 1],
    ];
    withMatch([metric], 2, { classToken: true, distillToken: false }, (m) => {
      const target = (m.assignment.target.arraySync() as number[][])[0];
      expect(target[0]).toBe(0);
      expect(target.filter((t) => t === 0)).toHaveLength(1);
    });
  });

  it('bipartiteSoftMatching keeps the distillation token alone at row 1', () => {
    // token 2 (A) is identical to DIST (token 1, B[0]); it must merge into token 3 instead
    const metric = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 1, 0, 0],
      [0, 0.6, 0.8, 0],
      [0, 0, 0, 1],
      [0, 0, s(0.3), 0.3],
    ];
    // token 2's best edge is token 3 (0.6), token 4's is token 5 (0.3)
    withMatch([metric], 1, { classToken: true, distillToken: true }, (m) => {
      // output [CLS, DIST, 4, {3, 2}, 5]
      expect(m.assignment.target.arraySync()).toEqual([[0, 1, 3, 3, 2, 4]]);
      expect(m.indices!.dstIdx.arraySync()).toEqual([[1]]);
    });
  });

  it('bipartiteSoftMatching resolves an argmax tie to the lower B index', () => {
    // token 2 is equally close (cos 0.6) to tokens 1 and 3
    const metric = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0.6, 0.6, Math.sqrt(0.28)],
      [0, 0, 1, 0],
    ];
    withMatch([metric], 1, { classToken: true, distillToken: false }, (m) => {
      expect(m.indices!.dstIdx.arraySync()).toEqual([[0]]);
    });
  });

  it('bipartiteSoftMatching preserves the size total of every image', () => {
    const metric = tf.randomNormal([3, 17, 6], 0, 1, 'float32', 7) as tf.Tensor3D;
    const size = tf.randomUniform([3, 17, 1], 1, 5, 'int32', 8).cast('float32') as tf.Tensor3D;
    const match = bipartiteSoftMatching(metric, 5, { classToken: true, distillToken: false, size });
    const merged = sumInto(match.assignment, size);
    expect(tf.sum(merged, [1, 2]).arraySync()).toEqual(tf.sum(size, [1, 2]).arraySync());
    tf.dispose([metric, size, merged]);
    disposeTomeMatch(match);
  });

  it('bipartiteSoftMatching decides each image of a batch as it would alone', () => {
    // guards against the wasm backend's batched gather (batchDims = 1), which mixes up images
    const metric = tf.randomNormal([3, 20, 6], 0, 1, 'float32', 11) as tf.Tensor3D;
    const size = tf.randomUniform([3, 20, 1], 1, 4, 'int32', 12).cast('float32') as tf.Tensor3D;
    const batched = bipartiteSoftMatching(metric, 6, { classToken: true, distillToken: false, size });
    for (let b = 0; b < 3; b++) {
      const one = bipartiteSoftMatching(tf.slice(metric, [b, 0, 0], [1, -1, -1]) as tf.Tensor3D, 6, {
        classToken: true,
        distillToken: false,
        size: tf.slice(size, [b, 0, 0], [1, -1, -1]) as tf.Tensor3D,
      });
      const row = (t: tf.Tensor, i: number) => (t.arraySync() as number[][])[i];
      expect(row(batched.assignment.target, b)).toEqual(row(one.assignment.target, 0));
      expect(row(batched.indices!.dstIdx, b)).toEqual(row(one.indices!.dstIdx, 0));
      const alone = row(one.assignment.coeff, 0);
      row(batched.assignment.coeff, b).forEach((v, i) => expect(v).toBeCloseTo(alone[i], 6));
      disposeTomeMatch(one);
    }
    tf.dispose([metric, size]);
    disposeTomeMatch(batched);
  });

  it('bipartiteSoftMatching does not leak tensors', async () => {
    const metric = tf.tensor3d([WORKED_METRIC]);
    // unmIdx, srcIdx, dstIdx, bestScore, bestPartner, edgeOrder + target, coeff
    const match = await expectNoLeak(() => bipartiteSoftMatching(metric, 2, { classToken: true, distillToken: false }), {
      returned: 8,
    });
    disposeTomeMatch(match);
    metric.dispose();
  });
});

describe('tome reducer', () => {
  const input = (metric: tf.Tensor3D): ReduceInput => ({
    x: tf.zeros([metric.shape[0], metric.shape[1], 4]) as tf.Tensor3D,
    size: tf.ones([metric.shape[0], metric.shape[1], 1]) as tf.Tensor3D,
    sizeIsTracked: false,
    attention: { keysMean: metric },
    layer: 0,
    depth: 12,
    classToken: true,
    distillToken: false,
  });

  it('tome.reduce returns only the assignment tensors', async () => {
    const metric = tf.tensor3d([WORKED_METRIC]);
    const inp = input(metric);
    const reduction = await expectNoLeak(() => tome.reduce(inp, { r: 2 }), { returned: 2 });
    expect(reduction.assignment.target.arraySync()).toEqual([[0, 2, 2, 3, 3, 4, 1]]);
    disposeAssignment(reduction.assignment);
    tf.dispose([metric, inp.x, inp.size]);
  });

  it('tome.overheadFlops counts the A·Bᵀ similarity, none when r = 0', () => {
    // docs/METHODS.md#tome: DeiT-S layer 0, 99·98·64
    expect(tome.overheadFlops(197, { hidden: 384, heads: 6 }, { r: 13 })).toBe(99 * 98 * 64);
    expect(tome.overheadFlops(197, { hidden: 384, heads: 6 }, { r: 0 })).toBe(0);
  });
});
