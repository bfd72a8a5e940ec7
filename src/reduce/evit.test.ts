import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { applyAssignment, disposeAssignment } from '../tokens/assignment';
import { evit, evitLeftTokens, evitSelect, topk } from './evit';
import type { ReduceInput } from '../tokens/types';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';

useWasmBackend();

/** A ReduceInput whose attention has `clsRows` ([B][H][N]) as the CLS query row and zeros elsewhere. */
function inputWith(x: number[][][], clsRows: number[][][], distillToken = false): ReduceInput {
  const n = x[0].length;
  const probs = tf.tidy(() => {
    const cls = tf.expandDims(tf.tensor3d(clsRows), 2); // [B, H, 1, N]
    return tf.concat([cls, tf.zeros([clsRows.length, clsRows[0].length, n - 1, n])], 2) as tf.Tensor4D;
  });
  return {
    x: tf.tensor3d(x),
    size: tf.ones([x.length, n, 1]) as tf.Tensor3D,
    sizeIsTracked: false,
    attention: { probs },
    layer: 3,
    depth: 12,
    classToken: true,
    distillToken,
  };
}

function disposeInput(input: ReduceInput): void {
  tf.dispose([input.x, input.size, input.attention.probs!]);
}

/** A random input with N tokens, width D, H heads, softmax-normalised CLS rows. */
function randomInput(n: number, d = 8, heads = 3, batch = 1, seed = 1): ReduceInput {
  const x = tf.randomNormal([batch, n, d], 0, 1, 'float32', seed).arraySync() as number[][][];
  const cls = tf.tidy(() => tf.softmax(tf.randomNormal([batch, heads, n], 0, 2, 'float32', seed + 1)).arraySync()) as number[][][];
  return inputWith(x, cls);
}

// Hand-worked: 5 tokens [c, t1, t2, t3, t4], two heads whose CLS rows average to
// a = (t1 .125, t2 .375, t3 .25, t4 .0625) (all exact in float32); x_i = [i, 10 i], c = [100, 0].
const X5 = [
  [
    [100, 0],
    [1, 10],
    [2, 20],
    [3, 30],
    [4, 40],
  ],
];
const CLS5 = [
  [
    [0.1875, 0.25, 0.25, 0.25, 0.0625],
    [0.1875, 0, 0.5, 0.25, 0.0625],
  ],
];

describe('evitLeftTokens', () => {
  it('evitLeftTokens takes ceil(keepRate * (N - 1)) in float64, like Python', () => {
    expect(evitLeftTokens(197, { keepRate: 0.7 })).toBe(138); // 137.2 -> 138
    expect(evitLeftTokens(140, { keepRate: 0.7 })).toBe(98); // 97.3 -> 98
    expect(evitLeftTokens(100, { keepRate: 0.7 })).toBe(70); // 69.3 -> 70
    expect(evitLeftTokens(101, { keepRate: 0.55 })).toBe(56); // 55.00000000000001 -> 56
  });

  it('evitLeftTokens prunes only when both keep rates are below 1 or tokens is given', () => {
    expect(evitLeftTokens(10, { keepRate: 0.5, blockKeepRate: 1 })).toBe(9);
    expect(evitLeftTokens(10, { keepRate: 1, blockKeepRate: 0.5 })).toBe(9);
    expect(evitLeftTokens(13, { keepRate: 1, tokens: 3 })).toBe(3);
    expect(evitLeftTokens(13, { keepRate: 0.7, tokens: 3 })).toBe(3);
    expect(evitLeftTokens(10, { keepRate: 0.95 })).toBe(9); // ceil(8.55) = N - 1: no pruning
  });

  it('evitLeftTokens counts only the tokens after CLS and the distillation token', () => {
    expect(evitLeftTokens(198, { keepRate: 0.7, protectedCount: 2 })).toBe(138);
  });

  it('evitLeftTokens rejects keep rates outside (0, 1] and impossible token counts', () => {
    expect(() => evitLeftTokens(197, { keepRate: 1.4 })).toThrow(/outside \(0, 1\]/);
    expect(() => evitLeftTokens(197, { keepRate: 0 })).toThrow(/outside/);
    expect(() => evitLeftTokens(10, { keepRate: 1, tokens: 10 })).toThrow(/1\.\.9/);
    expect(() => evitLeftTokens(10, { keepRate: 1, tokens: 0 })).toThrow(/1\.\.9/);
  });
});

describe('evit', () => {
  it('evit.reduce keeps the top tokens by attention, descending, and fuses the rest with raw weights (hand-worked)', () => {
    const input = inputWith(X5, CLS5);
    const { assignment } = evit.reduce(input, { keepRate: 0.5, fuse: true }); // left = ceil(0.5 * 4) = 2
    expect(assignment.nOut).toBe(4);
    expect(assignment.fusedRow).toBe(3);
    expect(assignment.target.arraySync()).toEqual([[0, 3, 1, 2, 3]]);
    expect(assignment.coeff.arraySync()).toEqual([[1, 0.125, 1, 1, 0.0625]]);
    const out = applyAssignment(assignment, input.x);
    // [c, t2, t3, .125 t1 + .0625 t4]: the fused weights are not renormalised to sum 1
    expect(out.arraySync()).toEqual([
      [
        [100, 0],
        [2, 20],
        [3, 30],
        [0.375, 3.75],
      ],
    ]);
    tf.dispose(out);
    disposeAssignment(assignment);
    disposeInput(input);
  });

  it('topk.reduce drops the same tokens without a fused row', () => {
    const input = inputWith(X5, CLS5);
    const { assignment } = topk.reduce(input, { keepRate: 0.5 });
    expect(assignment.nOut).toBe(3);
    expect(assignment.fusedRow).toBeUndefined();
    expect(assignment.target.arraySync()).toEqual([[0, -1, 1, 2, -1]]);
    disposeAssignment(assignment);
    disposeInput(input);
  });

  it('evit.reduce with keepRate 1 returns every token in place', () => {
    const input = inputWith(X5, CLS5);
    const { assignment } = evit.reduce(input, { keepRate: 1, fuse: true });
    expect(assignment.nOut).toBe(5);
    expect(assignment.target.arraySync()).toEqual([[0, 1, 2, 3, 4]]);
    expect(assignment.coeff.arraySync()).toEqual([[1, 1, 1, 1, 1]]);
    disposeAssignment(assignment);
    disposeInput(input);
  });

  it('evitSelect breaks attention ties toward the lower index', () => {
    const clsAttn = tf.tensor3d([[[0.5, 0.125, 0.25, 0.125, 0.25, 0.125]]]);
    const s = evitSelect(clsAttn, 3, false);
    expect(s.idx.arraySync()).toEqual([[1, 3, 0]]); // 0.25 at tokens 2 and 4, then the first 0.125
    tf.dispose([clsAttn, s.idx, s.clsAttnMean]);
    disposeAssignment(s.assignment);
  });

  it('evit.reduce keeps a distillation token at row 1 and never scores or fuses it', () => {
    // tokens [c, dist, t1..t4]; dist gets the least attention but must stay
    const x = [
      [
        [100, 0],
        [50, 50],
        [1, 10],
        [2, 20],
        [3, 30],
        [4, 40],
      ],
    ];
    const cls = [[[0.1875, 0, 0.125, 0.375, 0.25, 0.0625]]];
    const input = inputWith(x, cls, true);
    const { assignment } = evit.reduce(input, { keepRate: 0.5, fuse: true }); // ceil(0.5 * 4) = 2 of t1..t4
    expect(assignment.nOut).toBe(5);
    expect(assignment.target.arraySync()).toEqual([[0, 1, 4, 2, 3, 4]]);
    expect(assignment.coeff.arraySync()).toEqual([[1, 1, 0.125, 1, 1, 0.0625]]);
    disposeAssignment(assignment);
    disposeInput(input);
  });

  it('evit.reduce never drops CLS, even when CLS attends to itself least', () => {
    for (let seed = 0; seed < 5; seed++) {
      const input = randomInput(20, 4, 2, 2, seed * 10);
      const { assignment } = evit.reduce(input, { keepRate: 0.3, fuse: true });
      const target = assignment.target.arraySync();
      for (const row of target) expect(row[0]).toBe(0);
      disposeAssignment(assignment);
      disposeInput(input);
    }
  });

  it('evit.reduce follows the schedule 197 -> 140 -> 100 -> 72 at keepRate 0.7 with fusion', () => {
    expect(runSchedule(true)).toEqual([197, 140, 100, 72]);
  });

  it('topk.reduce follows the schedule 197 -> 139 -> 98 -> 69 at keepRate 0.7', () => {
    expect(runSchedule(false)).toEqual([197, 139, 98, 69]);
  });

  it('evit.reduce does not leak tensors (returns target and coeff)', async () => {
    const input = randomInput(30);
    const reduction = await expectNoLeak(() => evit.reduce(input, { keepRate: 0.7, fuse: true }), { returned: 2 });
    disposeAssignment(reduction.assignment);
    const same = await expectNoLeak(() => topk.reduce(input, { keepRate: 1 }), { returned: 2 });
    disposeAssignment(same.assignment);
    disposeInput(input);
  });

  it('evit.overheadFlops counts N·D for the fused token, and 0 without fusion or pruning', () => {
    const dims = { hidden: 384, heads: 6 };
    expect(evit.overheadFlops(197, dims, { keepRate: 0.7, fuse: true })).toBe(197 * 384);
    expect(evit.overheadFlops(197, dims, { keepRate: 0.7, fuse: false })).toBe(0);
    expect(evit.overheadFlops(197, dims, { keepRate: 1, fuse: true })).toBe(0);
    expect(topk.overheadFlops(197, dims, { keepRate: 0.7 })).toBe(0);
  });
});

/** Token counts through three reduction layers at keepRate 0.7 on random data. */
function runSchedule(fuse: boolean): number[] {
  const counts = [197];
  let n = 197;
  for (let stage = 0; stage < 3; stage++) {
    const input = randomInput(n, 4, 2, 1, 100 + stage);
    const { assignment } = (fuse ? evit : topk).reduce(input, { keepRate: 0.7, fuse });
    n = assignment.nOut;
    counts.push(n);
    disposeAssignment(assignment);
    disposeInput(input);
  }
  return counts;
}
