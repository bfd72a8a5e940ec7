import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { applyAssignment, disposeAssignment, sumInto } from '../tokens/assignment';
import { disposePitomeMatch, officialPitomeError, pitome, pitomeLayerParams, pitomeMatch, pitomeR, type PitomeLayerParams, type PitomeMatch } from './pitome';
import type { ReduceInput } from '../tokens/types';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';

useWasmBackend();

/**
 * A hand-worked case: CLS plus five patch tokens t1..t5 (T-indices 0..4).
 * Keys: t1 = t2 = t3 = e1 (a cluster), t4 = 0.6·e1 + 0.8·e2, t5 = e3.
 * With margin 0.5, α = 1 and a = ELU(−0.5) = e^−0.5 − 1 ≈ −0.393469:
 *   E(t1..t3) = (3·0.5 + 0.1 + a)/5 ≈ 0.241306   (sim 1 three times, 0.6 once, 0 once)
 *   E(t4)     = (3·0.1 + 0.5 + a)/5 ≈ 0.081306
 *   E(t5)     = (0.5 + 4a)/5        ≈ −0.214775
 * so the energy order is t1, t2, t3, t4, t5 (equal keys: lower index first).
 */
const KEYS = [
  [0, 0, 0, 1], // CLS (dropped from the metric)
  [1, 0, 0, 0],
  [1, 0, 0, 0],
  [1, 0, 0, 0],
  [0.6, 0.8, 0, 0],
  [0, 0, 1, 0],
];
const A = Math.exp(-0.5) - 1;

const params = (ratio: number, mode: PitomeLayerParams['mode']): PitomeLayerParams => ({ ratio, margin: 0.5, alpha: 1, mode });

function withMatch<T>(p: PitomeLayerParams, fn: (m: PitomeMatch) => T, keys: number[][][] = [KEYS]): T {
  const metric = tf.tensor3d(keys);
  const match = pitomeMatch(metric, p, { classToken: true });
  try {
    return fn(match);
  } finally {
    disposePitomeMatch(match);
    metric.dispose();
  }
}

describe('pitome schedule', () => {
  it('pitomeLayerParams follows the DeiT patch: margin 0.75 − 0.75·l/L, bsm for the first ⌈L/2⌉ layers', () => {
    expect(pitomeLayerParams(0, 12, 0.9)).toEqual({ ratio: 0.9, margin: 0.75, alpha: 1, mode: 'bsm' });
    expect(pitomeLayerParams(5, 12, 0.9).mode).toBe('bsm');
    expect(pitomeLayerParams(6, 12, 0.9)).toEqual({ ratio: 0.9, margin: 0.375, alpha: 1, mode: 'protect' });
    expect(pitomeLayerParams(11, 12, 0.9, 0.5)).toEqual({ ratio: 0.9, margin: 0.0625, alpha: 0.5, mode: 'protect' });
    expect(pitomeLayerParams(6, 13, 0.9).mode).toBe('bsm'); // ⌈13/2⌉ = 7
  });

  it('pitomeR is ⌊T − T·ratio⌋ from the current T (docs/METHODS.md#pitome schedule for 0.9)', () => {
    const rs: number[] = [];
    let t = 196;
    for (let l = 0; l < 12; l++) {
      const r = pitomeR(t, 0.9);
      rs.push(r);
      t -= r;
    }
    expect(rs).toEqual([19, 17, 16, 14, 13, 11, 10, 9, 8, 7, 7, 6]);
    expect(t + 1).toBe(60);
    expect(pitomeR(196, 1)).toBe(0);
  });

  it('officialPitomeError names the IndexError of r = 0 in protect mode only', () => {
    expect(officialPitomeError(10, 0, 'protect')).toMatch(/^IndexError/);
    expect(officialPitomeError(10, 0, 'bsm')).toBeNull();
    expect(officialPitomeError(10, 5, 'protect')).toBeNull();
    expect(officialPitomeError(11, 6, 'protect')).toMatch(/^RuntimeError/);
  });
});

describe('pitomeMatch', () => {
  it('pitomeMatch scores energy as the mean ELU of cosine minus margin', () => {
    withMatch(params(0.8, 'protect'), (m) => {
      const e = (m.indices!.energy.arraySync() as number[][])[0];
      const expected = [0.241306, 0.241306, 0.241306, 0.081306, -0.214775];
      expect((3 * 0.5 + 0.1 + A) / 5).toBeCloseTo(expected[0], 6);
      e.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
      expect(m.indices!.order.arraySync()).toEqual([[0, 1, 2, 3, 4]]);
    });
  });

  it('pitomeMatch in protect mode merges rank 0 into rank 1 and protects the rest', () => {
    // ratio 0.8: r = ⌊5 − 4⌋ = 1; A = [t1], B = [t2], protected = [t3, t4, t5]
    withMatch(params(0.8, 'protect'), (m) => {
      expect(m.r).toBe(1);
      expect(m.indices!.protectedIdx!.arraySync()).toEqual([[2, 3, 4]]);
      // output [CLS, t3, t4, t5, {t2, t1}]
      expect(m.assignment.target.arraySync()).toEqual([[0, 4, 4, 1, 2, 3]]);
    });
  });

  it('pitomeMatch in protect mode merges every A token, several into one B', () => {
    // ratio 0.6: r = 2; A = [t1, t3], B = [t2, t4]; both A tokens match t2 (cos 1 vs 0.6)
    withMatch(params(0.6, 'protect'), (m) => {
      expect(m.r).toBe(2);
      expect(m.indices!.dstIdx.arraySync()).toEqual([[0, 0]]);
      // output [CLS, t5, {t2, t1, t3}, t4]
      expect(m.assignment.target.arraySync()).toEqual([[0, 2, 2, 2, 3, 1]]);
      const sizes = tf.ones([1, 6, 1]) as tf.Tensor3D;
      const merged = sumInto(m.assignment, sizes);
      expect(merged.arraySync()).toEqual([[[1], [1], [3], [1]]]);
      tf.dispose([sizes, merged]);
    });
  });

  it('pitomeMatch in bsm mode matches even ranks to odd ranks and keeps unmerged A in score order', () => {
    // ratio 0.8: r = 1; A = [t1, t3, t5], B = [t2, t4]; best edges t1→t2 (1), t3→t2 (1), t5→t2 (0)
    withMatch(params(0.8, 'bsm'), (m) => {
      expect(m.indices!.aIdx.arraySync()).toEqual([[0, 2, 4]]);
      expect(m.indices!.bIdx.arraySync()).toEqual([[1, 3]]);
      expect(m.indices!.srcIdx!.arraySync()).toEqual([[0]]);
      expect(m.indices!.unmIdx!.arraySync()).toEqual([[1, 2]]);
      // output [CLS, t3, t5, {t2, t1}, t4]
      expect(m.assignment.target.arraySync()).toEqual([[0, 3, 3, 1, 4, 2]]);
    });
  });

  it('pitomeMatch in bsm mode with r = 0 re-orders without merging', () => {
    // ratio 0.95: r = ⌊5 − 4.75⌋ = 0; output [CLS, t1, t3, t5, t2, t4] (A by best score, then B)
    withMatch(params(0.95, 'bsm'), (m) => {
      expect(m.r).toBe(0);
      expect(m.assignment.target.arraySync()).toEqual([[0, 1, 4, 2, 5, 3]]);
      expect(m.assignment.coeff.arraySync()).toEqual([[1, 1, 1, 1, 1, 1]]);
    });
  });

  it('pitomeMatch with r = 0 in protect mode keeps every token in place (upstream raises)', () => {
    withMatch(params(0.95, 'protect'), (m) => {
      expect(m.indices).toBeNull();
      expect(m.assignment.target.arraySync()).toEqual([[0, 1, 2, 3, 4, 5]]);
    });
  });

  it('pitomeMatch with ratio ≥ 1 is the identity', () => {
    withMatch(params(1, 'bsm'), (m) => {
      expect(m.r).toBe(0);
      expect(m.indices).toBeNull();
      expect(m.assignment.nOut).toBe(6);
      expect(m.assignment.target.arraySync()).toEqual([[0, 1, 2, 3, 4, 5]]);
    });
  });

  it('pitomeMatch keeps the class token alone at row 0 and preserves the size total', () => {
    const metric = tf.randomNormal([2, 30, 8], 0, 1, 'float32', 3) as tf.Tensor3D;
    const size = tf.randomUniform([2, 30, 1], 1, 6, 'int32', 4).cast('float32') as tf.Tensor3D;
    for (const mode of ['bsm', 'protect'] as const) {
      const m = pitomeMatch(metric, params(0.7, mode), { classToken: true, size });
      for (const row of m.assignment.target.arraySync() as number[][]) {
        expect(row[0]).toBe(0);
        expect(row.filter((t) => t === 0)).toHaveLength(1);
      }
      const merged = sumInto(m.assignment, size);
      expect(tf.sum(merged, [1, 2]).arraySync()).toEqual(tf.sum(size, [1, 2]).arraySync());
      merged.dispose();
      disposePitomeMatch(m);
    }
    tf.dispose([metric, size]);
  });

  it('pitomeMatch decides each image of a batch as it would alone', () => {
    const metric = tf.randomNormal([3, 25, 8], 0, 1, 'float32', 5) as tf.Tensor3D;
    const size = tf.randomUniform([3, 25, 1], 1, 4, 'int32', 6).cast('float32') as tf.Tensor3D;
    const x = tf.randomNormal([3, 25, 4], 0, 1, 'float32', 9) as tf.Tensor3D;
    for (const mode of ['bsm', 'protect'] as const) {
      const batched = pitomeMatch(metric, params(0.75, mode), { classToken: true, size });
      const mergedBatch = applyAssignment(batched.assignment, x);
      for (let b = 0; b < 3; b++) {
        const pick = (t: tf.Tensor3D) => tf.slice(t, [b, 0, 0], [1, -1, -1]) as tf.Tensor3D;
        const [mb, sb, xb] = [pick(metric), pick(size), pick(x)];
        const one = pitomeMatch(mb, params(0.75, mode), { classToken: true, size: sb });
        const mergedOne = applyAssignment(one.assignment, xb);
        expect((batched.assignment.target.arraySync() as number[][])[b]).toEqual((one.assignment.target.arraySync() as number[][])[0]);
        const diff = tf.max(tf.abs(tf.sub(pick(mergedBatch), mergedOne))).arraySync() as number;
        expect(diff).toBeLessThan(1e-6);
        tf.dispose([mb, sb, xb, mergedOne]);
        disposePitomeMatch(one);
      }
      mergedBatch.dispose();
      disposePitomeMatch(batched);
    }
    tf.dispose([metric, size, x]);
  });

  it('pitomeMatch does not leak tensors', async () => {
    const metric = tf.tensor3d([KEYS]);
    // energy, order, aIdx, bIdx, dstIdx, unmIdx, srcIdx, bestScore, bestPartner, edgeOrder + target, coeff
    const bsm = await expectNoLeak(() => pitomeMatch(metric, params(0.8, 'bsm'), { classToken: true }), { returned: 12 });
    disposePitomeMatch(bsm);
    // energy, order, aIdx, bIdx, dstIdx, protectedIdx + target, coeff
    const protect = await expectNoLeak(() => pitomeMatch(metric, params(0.8, 'protect'), { classToken: true }), { returned: 8 });
    disposePitomeMatch(protect);
    metric.dispose();
  });
});

describe('pitome reducer', () => {
  it('pitome.reduce returns only the assignment tensors', async () => {
    const metric = tf.tensor3d([KEYS]);
    const input: ReduceInput = {
      x: tf.zeros([1, 6, 4]) as tf.Tensor3D,
      size: tf.ones([1, 6, 1]) as tf.Tensor3D,
      sizeIsTracked: false,
      attention: { keysMean: metric },
      layer: 7,
      depth: 12,
      classToken: true,
      distillToken: false,
    };
    const reduction = await expectNoLeak(() => pitome.reduce(input, params(0.6, 'protect')), { returned: 2 });
    expect(reduction.assignment.target.arraySync()).toEqual([[0, 2, 2, 2, 3, 1]]);
    disposeAssignment(reduction.assignment);
    tf.dispose([metric, input.x, input.size]);
  });

  it('pitome.overheadFlops counts the T×T similarity, none when ratio ≥ 1', () => {
    // docs/METHODS.md#pitome: DeiT-S layer 0, 196²·64
    expect(pitome.overheadFlops(197, { hidden: 384, heads: 6 }, pitomeLayerParams(0, 12, 0.9))).toBe(196 * 196 * 64);
    expect(pitome.overheadFlops(197, { hidden: 384, heads: 6 }, pitomeLayerParams(0, 12, 1))).toBe(0);
  });
});
