import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { mergeHeads, valueNorms } from '../model/ops';
import { disposeReduction } from '../tokens/assignment';
import {
  ats,
  atsEffectiveTokens,
  atsEpsTerms,
  atsInverseTransformSample,
  atsMaskedSoftmax,
  atsSampling,
  atsSignificanceOfNorms,
  batchGather,
  disposeAtsSample,
  type AtsSampling,
} from './ats';
import type { ReduceInput } from '../tokens/types';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';

useWasmBackend();

/** A ReduceInput with one head whose CLS row is `cls` and value norms 1, so significance ∝ attention. */
function inputWithClsRow(cls: number[], distillToken = false): ReduceInput {
  const n = cls.length;
  const probs = tf.tidy(() => {
    const row = tf.reshape(tf.tensor1d(cls), [1, 1, 1, n]);
    return tf.concat([row, tf.zeros([1, 1, n - 1, n])], 2) as tf.Tensor4D;
  });
  const valueNorms = tf.ones([1, n]) as tf.Tensor2D;
  return {
    x: tf.zeros([1, n, 2]) as tf.Tensor3D,
    size: tf.ones([1, n, 1]) as tf.Tensor3D,
    sizeIsTracked: false,
    attention: { probs, valueNorms },
    layer: 3,
    depth: 12,
    classToken: true,
    distillToken,
  };
}

/** A random input: B images, N tokens, H heads of width dh, softmax attention. */
function randomInput(n: number, batch = 1, heads = 3, dh = 4, seed = 1): ReduceInput {
  const probs = tf.tidy(() => tf.softmax(tf.randomNormal([batch, heads, n, n], 0, 2, 'float32', seed)) as tf.Tensor4D);
  return {
    x: tf.randomNormal([batch, n, heads * dh], 0, 1, 'float32', seed + 1) as tf.Tensor3D,
    size: tf.ones([batch, n, 1]) as tf.Tensor3D,
    sizeIsTracked: false,
    attention: { probs, valueNorms: tf.tidy(() => valueNorms(mergeHeads(tf.randomNormal([batch, heads, n, dh], 0, 1, 'float32', seed + 2) as tf.Tensor4D))) },
    layer: 3,
    depth: 12,
    classToken: true,
    distillToken: false,
  };
}

function disposeInput(input: ReduceInput): void {
  tf.dispose([input.x, input.size, input.attention.probs!, input.attention.valueNorms!]);
}

function sample(scores: number[][], sampling: AtsSampling) {
  const t = tf.tensor2d(scores);
  const s = atsInverseTransformSample(t, sampling);
  const read = {
    normalizedCdf: s.normalizedCdf.arraySync(),
    ys: s.ys.arraySync(),
    picks: s.picks.arraySync(),
    unique: s.uniqueIndices.arraySync(),
    kept: s.keptTokens.arraySync(),
    sortedIndices: s.sortedIndices.arraySync(),
  };
  disposeAtsSample(s);
  t.dispose();
  return read;
}

function expectClose(actual: number[][], expected: number[][], digits = 4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, b) => row.forEach((v, i) => expect(v).toBeCloseTo(expected[b][i], digits)));
}

describe('atsEffectiveTokens', () => {
  it('atsEffectiveTokens clamps K as the official forward does', () => {
    expect(atsEffectiveTokens(197, 197)).toBe(197);
    expect(atsEffectiveTokens(197, 140)).toBe(140); // > N -> N
    expect(atsEffectiveTokens(0.5, 20)).toBe(10); // ratio
    expect(atsEffectiveTokens(0.5, 21)).toBe(10); // round(10.5) = 10, halves to even as Python
    expect(atsEffectiveTokens(0.5, 23)).toBe(12); // round(11.5) = 12
    expect(atsEffectiveTokens(3, 50)).toBe(8); // < 8 -> 8
    expect(atsEffectiveTokens(197, 6)).toBe(6); // 6 -> 8 -> N
  });
});

describe('atsSampling', () => {
  it('atsSampling uses n_ref - 1 samples when K = min(N, n_ref), as the official code', () => {
    expect(atsSampling(197, { nTokens: 197, nRef: 197 })).toEqual({ nTokens: 197, samples: 196, crop: true });
    expect(atsSampling(120, { nTokens: 197, nRef: 197 })).toEqual({ nTokens: 120, samples: 196, crop: true });
    expect(atsSampling(20, { nTokens: 0.5, nRef: 10 })).toEqual({ nTokens: 10, samples: 9, crop: true });
  });

  it('atsSampling refuses a K cap the official code cannot run, unless paperKCap', () => {
    expect(() => atsSampling(197, { nTokens: 108, nRef: 197 })).toThrow(/paperKCap/);
    expect(atsSampling(197, { nTokens: 108, nRef: 197, paperKCap: true })).toEqual({ nTokens: 108, samples: 107, crop: false });
  });
});

describe('atsInverseTransformSample', () => {
  it('atsInverseTransformSample reproduces the toy example of docs/METHODS.md#ats (n_ref = 5, scores .1 .2 .3 .4)', () => {
    const r = sample([[0.1, 0.2, 0.3, 0.4]], { nTokens: 5, samples: 4, crop: true });
    expectClose(r.normalizedCdf, [[0, 0.2222, 0.5556, 1]]);
    expectClose(r.ys, [[0.2222, 0.4815, 0.7407, 1]]);
    expect(r.picks).toEqual([[1, 2, 2, 3]]);
    expect(r.unique).toEqual([[1, 2, 3, 4]]); // 4 = T: a duplicate
    expect(r.kept).toEqual([[0, 2, 3, 4, -1]]); // the 0.1 token (token 1) is dropped
  });

  it('atsInverseTransformSample left-pads the CDF when there are more samples than tokens', () => {
    // M = 7 > T = 4: ys .2222 .3519 .4815 .6111 .7407 .8704 1 -> positions 1 1 2 2 2 3 3
    const r = sample([[0.1, 0.2, 0.3, 0.4]], { nTokens: 5, samples: 7, crop: true });
    expect(r.picks).toEqual([[1, 1, 2, 2, 2, 3, 3]]);
    expect(r.unique).toEqual([[1, 2, 3, 4, 4, 4, 4]]);
    expect(r.kept).toEqual([[0, 2, 3, 4, -1]]);
  });

  it('atsInverseTransformSample crops the CDF to its top M entries (official) or samples all of it (paper)', () => {
    // sorted scores .05 .1 .15 .2 .5 (tokens 2 4 5 1 3): ncdf 0 .1053 .2632 .4737 1; ys .1053 .5526 1
    const scores = [[0.2, 0.05, 0.5, 0.1, 0.15]];
    const paper = sample(scores, { nTokens: 4, samples: 3, crop: false });
    expect(paper.sortedIndices).toEqual([[1, 3, 4, 0, 2]]);
    expect(paper.picks).toEqual([[1, 3, 4]]);
    expect(paper.kept).toEqual([[0, 4, 1, 3]]);
    const official = sample(scores, { nTokens: 4, samples: 3, crop: true });
    expect(official.picks).toEqual([[2, 3, 4]]); // only .2632 .4737 1 can be picked
    expect(official.kept).toEqual([[0, 5, 1, 3]]);
  });

  it('atsInverseTransformSample sorts equal scores lower index first', () => {
    const r = sample([[0.25, 0.125, 0.25, 0.125, 0.25]], { nTokens: 6, samples: 5, crop: true });
    expect(r.sortedIndices).toEqual([[1, 3, 0, 2, 4]]);
  });
});

describe('atsMaskedSoftmax', () => {
  it('atsMaskedSoftmax adds eps/N and eps, and masks dead keys except on the diagonal (hand-worked)', () => {
    const eps = 1e-6;
    const logits = tf.zeros([1, 1, 2, 2]) as tf.Tensor4D;
    const policy = tf.tensor3d([[[1], [0]]]);
    const p = atsMaskedSoftmax(logits, policy).arraySync()[0][0];
    expect(p[0][0]).toBeCloseTo((1 + eps / 2) / (1 + eps), 7);
    expect(p[0][1]).toBeCloseTo(eps / 2 / (1 + eps), 12);
    expect(p[1][0]).toBeCloseTo((1 + eps / 2) / (2 + eps), 7); // the dead token still sees itself
    expect(p[1][1]).toBeCloseTo((1 + eps / 2) / (2 + eps), 7);
    tf.dispose([logits, policy]);
  });

  it('atsMaskedSoftmax with no policy is a softmax up to eps', async () => {
    const logits = tf.randomNormal([1, 2, 5, 5], 0, 3, 'float32', 7) as tf.Tensor4D;
    const p = await expectNoLeak(() => atsMaskedSoftmax(logits, null), { returned: 1 });
    const plain = tf.softmax(logits);
    expect(tf.max(tf.abs(tf.sub(p, plain))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([logits, p, plain]);
  });
});

describe('atsEpsTerms', () => {
  it('atsEpsTerms on the CLS rows of a plain softmax gives those rows of the explicit masked softmax', () => {
    const logits = tf.randomNormal([1, 3, 40, 40], 0, 3, 'float32', 8) as tf.Tensor4D;
    for (const eps of [1e-2, 1e-6]) {
      const [diff, termSize] = tf.tidy(() => {
        const plain = tf.slice(tf.softmax(logits), [0, 0, 0, 0], [1, 3, 1, 40]);
        const exact = tf.slice(atsMaskedSoftmax(logits, null, eps), [0, 0, 0, 0], [1, 3, 1, 40]);
        const derived = atsEpsTerms(plain, eps);
        return [tf.max(tf.abs(tf.sub(exact, derived))).dataSync()[0], tf.max(tf.abs(tf.sub(exact, plain))).dataSync()[0]];
      });
      expect(diff, `eps ${eps}`).toBeLessThanOrEqual(3e-7); // a few float32 ulps of values ≤ 1
      if (eps === 1e-2) expect(termSize).toBeGreaterThan(1e-4); // while the terms themselves are far larger
    }
    logits.dispose();
  });
});

describe('ats', () => {
  it('ats.reduce keeps CLS, then the picked tokens in ascending significance (toy example)', () => {
    const input = inputWithClsRow([0.5, 0.05, 0.1, 0.15, 0.2]); // significance .1 .2 .3 .4
    const reduction = ats.reduce(input, { nTokens: 5, nRef: 5 });
    const { assignment } = reduction;
    expect(assignment.nOut).toBe(4);
    expect(assignment.target.arraySync()).toEqual([[0, -1, 1, 2, 3]]);
    expect(assignment.coeff.arraySync()).toEqual([[1, 0, 1, 1, 1]]);
    // the same selection as rows to gather, output by output (the CPU backends' fast path)
    expect(reduction.rows?.arraySync()).toEqual([[0, 2, 3, 4]]);
    disposeReduction(reduction);
    disposeInput(input);
  });

  it('ats.reduce never keeps the least significant token at B = 1, and orders by significance', () => {
    for (let seed = 0; seed < 6; seed++) {
      const input = randomInput(30, 1, 3, 4, seed * 7);
      const scores = tf.tidy(() =>
        atsSignificanceOfNorms(tf.reshape(tf.slice(input.attention.probs!, [0, 0, 0, 0], [1, 3, 1, 30]), [1, 3, 30]) as tf.Tensor3D, input.attention.valueNorms!),
      );
      const s = scores.arraySync()[0];
      scores.dispose();
      const reduction = ats.reduce(input, { nTokens: 197, nRef: 197 });
      const { assignment } = reduction;
      const target = assignment.target.arraySync()[0];
      expect(target[0]).toBe(0);
      const weakest = 1 + s.indexOf(Math.min(...s));
      expect(target[weakest]).toBe(-1);
      const byRow = target
        .map((row, token) => ({ row, token }))
        .filter((e) => e.row > 0)
        .sort((a, b) => a.row - b.row);
      expect(byRow.length).toBe(assignment.nOut - 1);
      for (let i = 1; i < byRow.length; i++) expect(s[byRow[i].token - 1]).toBeGreaterThanOrEqual(s[byRow[i - 1].token - 1]);
      disposeReduction(reduction);
      disposeInput(input);
    }
  });

  it('ats.reduce at N = 3 keeps only CLS, as the official dedup (shift padded with 1) does', () => {
    const input = inputWithClsRow([0.2, 0.3, 0.5]);
    const reduction = ats.reduce(input, { nTokens: 197, nRef: 197 });
    const { assignment } = reduction;
    expect(assignment.nOut).toBe(1);
    expect(assignment.target.arraySync()).toEqual([[0, -1, -1]]);
    disposeReduction(reduction);
    disposeInput(input);
  });

  it('ats.reduce with a paper K cap keeps at most K tokens', () => {
    const input = randomInput(40, 1, 2, 4, 3);
    const reduction = ats.reduce(input, { nTokens: 10, nRef: 40, paperKCap: true });
    const { assignment } = reduction;
    expect(assignment.nOut).toBeLessThanOrEqual(10);
    expect(assignment.target.arraySync()[0][0]).toBe(0);
    disposeReduction(reduction);
    disposeInput(input);
  });

  it('ats.reduce pads a batch to its largest kept count, leaving surplus rows empty', () => {
    const input = randomInput(24, 2, 2, 4, 11);
    const reduction = ats.reduce(input, { nTokens: 197, nRef: 24 });
    const { assignment } = reduction;
    const target = assignment.target.arraySync();
    const counts = target.map((row) => row.filter((t) => t >= 0).length);
    expect(Math.max(...counts)).toBe(assignment.nOut);
    for (const row of target) expect(row[0]).toBe(0);
    // rows are only offered for a plain selection: not when an image has empty output rows
    expect(reduction.rows === undefined).toBe(Math.min(...counts) < assignment.nOut);
    disposeReduction(reduction);
    disposeInput(input);
  });

  it('ats.reduce refuses a distillation token', () => {
    const input = inputWithClsRow([0.5, 0.05, 0.1, 0.15, 0.2], true);
    expect(() => ats.reduce(input, { nTokens: 197, nRef: 197 })).toThrow(/distillation/);
    disposeInput(input);
  });

  it('ats.reduce does not leak tensors (returns target, coeff and the rows)', async () => {
    const input = randomInput(50);
    const reduction = await expectNoLeak(() => ats.reduce(input, { nTokens: 197, nRef: 197 }), { returned: 3 });
    disposeReduction(reduction);
    disposeInput(input);
  });

  it('ats.overheadFlops counts (n_ref - 1)(N - 1) compares plus N·D', () => {
    expect(ats.overheadFlops(197, { hidden: 384, heads: 6 }, { nTokens: 197, nRef: 197 })).toBe(196 * 196 + 197 * 384);
  });
});

describe('batchGather', () => {
  it('batchGather picks rows per image (the wasm batchDims gather gets b > 0 wrong)', () => {
    const params = tf.tensor3d([
      [[0], [1], [2]],
      [[10], [11], [12]],
    ]);
    const idx = tf.tensor2d(
      [
        [2, 0],
        [1, 2],
      ],
      undefined,
      'int32',
    );
    const out = batchGather(params, idx);
    expect(out.arraySync()).toEqual([
      [[2], [0]],
      [[11], [12]],
    ]);
    tf.dispose([params, idx, out]);
  });
});
