import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { withDevicePaths } from '../tokens/kernel-paths';
import { applyAndSum, applySelection, assignmentMatrix, disposeReduction, selectionAssignment, weightedMeanCoeffs } from '../tokens/assignment';
import { ats, atsEpsTerms, atsInverseTransformSample, atsKeptTokensHost, atsSampling, atsSignificanceHost, atsSignificanceOfNorms, disposeAtsSample } from './ats';
import { disposePitomeMatch, pitomeLayerParams, pitomeMatch, type PitomeMatch } from './pitome';
import { bipartiteSoftMatching, disposeTomeMatch, type TomeMatch } from './tome';
import type { Assignment, ReduceInput } from '../tokens/types';
import { useWasmBackend } from '../../tests/helpers/tf';

useWasmBackend();

// The CPU backends take faster paths than WebGL/WebGPU (one scatter instead of a one-hot matmul,
// decisions in host memory). Here each fast path is checked against the device path on the same
// inputs, with ties built in, as the device path is what the browser runs.

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** [B, N, C] keys where some tokens repeat others exactly (ties in every similarity). */
function keysWithTies(batch: number, n: number, c: number, seed: number): number[][][] {
  const r = rng(seed);
  return Array.from({ length: batch }, () => {
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) rows.push(i > 2 && r() < 0.25 ? [...rows[Math.floor(r() * i)]] : Array.from({ length: c }, () => r() * 2 - 1));
    return rows;
  });
}

const read = (t: tf.Tensor | undefined | null) => (t ? Array.from(t.dataSync()) : null);

function sameMatch(host: { assignment: Assignment; indices: Record<string, tf.Tensor> | null }, device: typeof host) {
  expect(read(host.assignment.target)).toEqual(read(device.assignment.target));
  expect(read(host.assignment.coeff)).toEqual(read(device.assignment.coeff));
  expect(host.assignment.nOut).toBe(device.assignment.nOut);
  for (const key of Object.keys(device.indices ?? {})) expect(read(host.indices?.[key]), key).toEqual(read(device.indices?.[key]));
}

describe('decisions in host memory (CPU backends) against the device path', () => {
  for (const [classToken, distillToken] of [
    [true, false],
    [true, true],
    [false, false],
  ] as const) {
    it(`bipartiteSoftMatching decides as on device (class token ${classToken}, distillation token ${distillToken})`, () => {
      for (const [batch, n, r, seed] of [
        [1, 17, 5, 1],
        [2, 16, 3, 2],
        [1, 197, 13, 3],
        [3, 9, 100, 4],
      ]) {
        const metric = tf.tensor3d(keysWithTies(batch, n, 8, seed));
        const size = tf.tensor3d(Array.from({ length: batch }, (_, b) => Array.from({ length: n }, (_, i) => [1 + ((i * 7 + b) % 4)])));
        const options = { classToken, distillToken, size };
        const host: TomeMatch = bipartiteSoftMatching(metric, r, options);
        const device: TomeMatch = withDevicePaths(() => bipartiteSoftMatching(metric, r, options));
        sameMatch(host as never, device as never);
        disposeTomeMatch(host);
        disposeTomeMatch(device);
        tf.dispose([metric, size]);
      }
    });
  }

  for (const layer of [0, 9]) {
    it(`pitomeMatch decides as on device (layer ${layer}: ${pitomeLayerParams(layer, 12, 0.8).mode} mode)`, () => {
      for (const [batch, n, seed] of [
        [1, 33, 5],
        [2, 20, 6],
        [1, 197, 7],
      ]) {
        const metric = tf.tensor3d(keysWithTies(batch, n, 8, seed));
        const size = tf.tensor3d(Array.from({ length: batch }, () => Array.from({ length: n }, (_, i) => [1 + (i % 3)])));
        const params = pitomeLayerParams(layer, 12, 0.8);
        const host: PitomeMatch = pitomeMatch(metric, params, { classToken: true, size });
        const device: PitomeMatch = withDevicePaths(() => pitomeMatch(metric, params, { classToken: true, size }));
        sameMatch(host as never, device as never);
        disposePitomeMatch(host);
        disposePitomeMatch(device);
        tf.dispose([metric, size]);
      }
    });
  }

  it('atsKeptTokensHost picks the tokens atsInverseTransformSample picks, ties and zeros included', () => {
    const cases: [number, { nTokens: number; nRef: number; paperKCap?: boolean }][] = [
      [197, { nTokens: 197, nRef: 197 }], // M = T, the official first ATS block
      [150, { nTokens: 197, nRef: 197 }], // fewer tokens than samples: zero-padded CDF
      [197, { nTokens: 60, nRef: 197, paperKCap: true }], // paper's K − 1 samples over the whole CDF
      [40, { nTokens: 30, nRef: 30 }], // more tokens than samples: cropped CDF
    ];
    for (const [seed, [n, params]] of cases.entries()) {
      const r = rng(100 + seed);
      const t = n - 1;
      const raw = Array.from({ length: t }, () => (r() < 0.1 ? 0 : r() < 0.2 ? 0.5 : r()));
      const total = raw.reduce((a, b) => a + b, 0);
      const scores = tf.tensor2d([raw.map((v) => v / total)]);
      const sampling = atsSampling(n, params);
      const sample = atsInverseTransformSample(scores, sampling);
      expect(Array.from(atsKeptTokensHost(scores.dataSync(), sampling)), `case ${seed}`).toEqual(read(sample.keptTokens));
      disposeAtsSample(sample);
      scores.dispose();
    }
  });
});

describe('ATS significance and decision on the host against the device', () => {
  /** Softmax CLS rows [B, H, N] with some exact ties, and value norms [B, N]. */
  function clsInputs(batch: number, heads: number, n: number, seed: number) {
    const r = rng(seed);
    const logits = Array.from({ length: batch }, () => Array.from({ length: heads }, () => Array.from({ length: n }, () => (r() < 0.15 ? 0.5 : r() * 6 - 3))));
    const norms = Array.from({ length: batch }, () => Array.from({ length: n }, () => (r() < 0.1 ? 1 : 0.5 + r() * 3)));
    return { rows: tf.softmax(tf.tensor3d(logits)) as tf.Tensor3D, norms: tf.tensor2d(norms) };
  }

  it('atsSignificanceHost equals the device significance bit for bit (eps terms, head sum, normalisation)', () => {
    for (const [seed, [heads, n]] of [
      [3, 197],
      [6, 50],
      [1, 12],
    ].entries()) {
      const { rows, norms } = clsInputs(1, heads, n, 40 + seed);
      const device = tf.tidy(() => atsSignificanceOfNorms(atsEpsTerms(rows), norms).dataSync());
      const host = atsSignificanceHost(rows.dataSync() as Float32Array, norms.dataSync() as Float32Array, heads);
      expect(Array.from(host), `case ${seed}`).toEqual(Array.from(device));
      tf.dispose([rows, norms]);
    }
  });

  it('ats.reduce keeps the same tokens on the host path as on the device path, one image and two', () => {
    for (const [seed, batch] of [1, 1, 2].entries()) {
      const n = 60;
      const { rows, norms } = clsInputs(batch, 3, n, 70 + seed);
      const input: ReduceInput = {
        x: tf.zeros([batch, n, 6]) as tf.Tensor3D,
        size: tf.ones([batch, n, 1]) as tf.Tensor3D,
        sizeIsTracked: false,
        attention: { clsAttn: rows, valueNorms: norms },
        layer: 2,
        depth: 12,
        classToken: true,
        distillToken: false,
      };
      const params = { nTokens: 197, nRef: 61 };
      const host = ats.reduce(input, params);
      const device = withDevicePaths(() => ats.reduce(input, params));
      expect(host.assignment.nOut, `case ${seed}`).toBe(device.assignment.nOut);
      expect(host.assignment.target.arraySync(), `case ${seed}`).toEqual(device.assignment.target.arraySync());
      tf.dispose([rows, norms, input.x, input.size]);
      disposeReduction(host);
      disposeReduction(device);
    }
  });
});

describe('applying an assignment by scatter (CPU backends) against the matrix product', () => {
  it('applyAndSum gives the matrix product for merges, drops and a fused row', () => {
    const r = rng(9);
    for (const [batch, n, nOut] of [
      [1, 12, 7],
      [2, 9, 5],
      [1, 197, 140],
    ]) {
      const target = tf.tensor2d(
        Array.from({ length: batch }, () => Array.from({ length: n }, (_, i) => (i < nOut ? i : r() < 0.3 ? -1 : Math.floor(r() * nOut)))),
        undefined,
        'int32',
      );
      const coeff = tf.tensor2d(Array.from({ length: batch }, () => Array.from({ length: n }, () => r())));
      const x = tf.randomNormal([batch, n, 6], 0, 1, 'float32', n) as tf.Tensor3D;
      const size = tf.randomUniform([batch, n, 1], 1, 5, 'float32', n) as tf.Tensor3D;
      const a = { target, coeff, nOut };
      const fast = applyAndSum(a, [x], [size]);
      const viaMatrix = tf.tidy(() => [tf.matMul(assignmentMatrix(target, coeff, nOut), x), tf.matMul(assignmentMatrix(target, null, nOut), size)]);
      const device = withDevicePaths(() => applyAndSum(a, [x], [size]));
      for (const [got, want] of [
        [fast.applied[0], viaMatrix[0]],
        [fast.sums[0], viaMatrix[1]],
        [device.applied[0], viaMatrix[0]],
      ]) {
        expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-5);
      }
      tf.dispose([target, coeff, x, size, ...fast.applied, ...fast.sums, ...viaMatrix, ...device.applied, ...device.sums]);
    }
  });

  it('applyAndSum without a spare row (every input kept, as in merges) gives the matrix product', () => {
    const r = rng(10);
    for (const [batch, n, nOut] of [
      [1, 12, 7],
      [2, 9, 5],
      [1, 197, 184],
    ]) {
      const target = tf.tensor2d(
        Array.from({ length: batch }, () => Array.from({ length: n }, (_, i) => (i < nOut ? i : Math.floor(r() * nOut)))),
        undefined,
        'int32',
      );
      const coeff = tf.tensor2d(Array.from({ length: batch }, () => Array.from({ length: n }, () => r())));
      const x = tf.randomNormal([batch, n, 6], 0, 1, 'float32', n) as tf.Tensor3D;
      const size = tf.randomUniform([batch, n, 1], 1, 5, 'float32', n) as tf.Tensor3D;
      const fast = applyAndSum({ target, coeff, nOut }, [x], [size], { everyInputKept: true });
      const viaMatrix = tf.tidy(() => [tf.matMul(assignmentMatrix(target, coeff, nOut), x), tf.matMul(assignmentMatrix(target, null, nOut), size)]);
      expect(fast.applied[0].shape).toEqual([batch, nOut, 6]);
      for (const [got, want] of [
        [fast.applied[0], viaMatrix[0]],
        [fast.sums[0], viaMatrix[1]],
      ]) {
        expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-5);
      }
      tf.dispose([target, coeff, x, size, ...fast.applied, ...fast.sums, ...viaMatrix]);
    }
  });

  it('applySelection on the device path gathers exactly the rows the matrix selects, fused row included', () => {
    const rows = tf.tensor2d(
      [
        [0, 4, 2],
        [0, 1, 3],
      ],
      undefined,
      'int32',
    );
    const kept = selectionAssignment(rows, 5);
    // EViT-style: every input not kept goes to row 3 with weight 0.5
    const target = tf.tidy(() => tf.where(tf.less(kept.target, 0), tf.fill([2, 5], 3, 'int32'), kept.target) as tf.Tensor2D);
    const coeff = tf.tidy(() => tf.where(tf.less(kept.target, 0), tf.fill([2, 5], 0.5), kept.coeff) as tf.Tensor2D);
    const a: Assignment = { target, coeff, nOut: 4, fusedRow: 3 };
    const x = tf.tensor3d([
      [[1], [2], [3], [4], [5]],
      [[6], [7], [8], [9], [10]],
    ]);
    const device = withDevicePaths(() => applySelection(a, [x], [x]));
    expect(device.applied[0].arraySync()).toEqual([
      [[1], [5], [3], [0.5 * 2 + 0.5 * 4]],
      [[6], [7], [9], [0.5 * 8 + 0.5 * 10]],
    ]);
    expect(device.sums[0].arraySync()).toEqual([
      [[1], [5], [3], [6]],
      [[6], [7], [9], [18]],
    ]);
    const fast = applySelection(a, [x], [x]);
    expect(fast.applied[0].arraySync()).toEqual(device.applied[0].arraySync());
    tf.dispose([rows, kept.target, kept.coeff, target, coeff, x, ...device.applied, ...device.sums, ...fast.applied, ...fast.sums]);
  });

  it('weightedMeanCoeffs by scatter equals the device path, dropped inputs at 0', () => {
    const target = tf.tensor2d(
      [
        [0, 1, 1, -1, 2, 2, 2],
        [2, 2, 0, 1, -1, 1, 0],
      ],
      undefined,
      'int32',
    );
    const weights = tf.tensor2d([
      [1, 2, 3, 4, 5, 6, 7],
      [1, 1, 2, 3, 9, 1, 1],
    ]);
    const fast = weightedMeanCoeffs(target, weights, 3);
    const device = withDevicePaths(() => weightedMeanCoeffs(target, weights, 3));
    expect(read(fast)).toEqual(read(device));
    tf.dispose([target, weights, fast, device]);
  });

  it('selectionAssignment by scatter equals the device path, empty slots (-1) included', () => {
    const rows = tf.tensor2d(
      [
        [0, 3, 1, -1],
        [0, 2, -1, -1],
      ],
      undefined,
      'int32',
    );
    const fast = selectionAssignment(rows, 5);
    const device = withDevicePaths(() => selectionAssignment(rows, 5));
    expect(read(fast.target)).toEqual([0, 2, -1, 1, -1, 0, -1, 1, -1, -1]);
    expect(read(fast.target)).toEqual(read(device.target));
    expect(read(fast.coeff)).toEqual(read(device.coeff));
    tf.dispose([rows, fast.target, fast.coeff, device.target, device.coeff]);
  });
});
