/**
 * MCTF on WebGPU in a handful of dispatches: criteria (mctf-criteria.ts), the score matrix
 * (mctf-scores.ts), matching and output rows (mctf-decide.ts), pooling coefficients and the merged attention (mctf-merge.ts), where the
 * generic path runs ~160 small ops per layer; the generic path in mctf.ts stays the reference and
 * the path of every other backend. The check registered here runs both on the same inputs (tied
 * tokens included), in every pooling mode, one- and bidirectional, before the fused path is
 * switched on for a device.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnDevice, sameValues } from '../../tokens/webgpu/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import type { ReduceInput, Reduction } from '../../tokens/types';
import type { MctfLayerParams, MctfMatch } from '../mctf';
import { MCTF_FAMILY, MCTF_MAX_TOKENS, mctfCriteria } from './mctf-criteria';
import { mctfDecide, type MctfDecideOptions } from './mctf-decide';
import { mctfAttnNext, mctfCoeffs, mctfMaxPool } from './mctf-merge';
import { mctfScores } from './mctf-scores';

/** What the fused decision leaves for the apply step (owned by the match, or by the caller's tidy). */
export interface MctfDeviceDecision {
  /** int32 [B, width]: output rows, then the indices when asked for. */
  decided: tf.Tensor2D;
  /** float32 [B, 4N] from mctf-criteria.ts. */
  criteria: tf.Tensor2D;
}

/** Whether the fused programs can take this input: attention given and few enough tokens. */
export function mctfFusedFits(input: ReduceInput): boolean {
  return input.attention.probs !== undefined && input.x.shape[1] <= MCTF_MAX_TOKENS;
}

const exponent = (tau: number) => 1 / tau;

function decideOptions(p: MctfLayerParams, r: number, numProtected: number, withIndices: boolean): MctfDecideOptions {
  const r1 = p.bidirection ? Math.floor(r / 2) : r;
  return { r1, r2: r - r1, bidirection: p.bidirection, numProtected, withIndices };
}

/** The decision for r ≥ 1 (already by the official rule) by the fused programs. */
export function mctfDecideFused(input: ReduceInput, p: MctfLayerParams, r: number, numProtected: number, withIndices: boolean): MctfDeviceDecision {
  return tf.tidy(() => {
    const criteria = mctfCriteria(input.x, input.attention.probs as tf.Tensor4D, input.size, {
      infoExponent: p.tauInfo > 0 ? exponent(p.tauInfo) : null,
      sizeExponent: p.tauSize && input.sizeIsTracked ? exponent(p.tauSize) : null,
    });
    const scores = mctfScores(input.x, criteria, { numProtected, simExponent: p.tauSim ? exponent(p.tauSim) : null });
    const decided = mctfDecide(scores, input.x.shape[1], decideOptions(p, r, numProtected, withIndices));
    return { decided, criteria } as unknown as tf.TensorContainer;
  }) as unknown as MctfDeviceDecision;
}

/** `mctfMatch`'s fields from a fused decision with indices (the tensors are new; the decision stays the caller's). */
export function matchFromDevice(decision: MctfDeviceDecision, p: MctfLayerParams, r: number, n: number): MctfMatch {
  const { r1, r2 } = decideOptions(p, r, 0, true);
  const { decided } = decision;
  const batch = decided.shape[0];
  const t1 = Math.ceil(n / 2);
  const nUnm = t1 - r1;
  let at = n;
  const field = (width: number) => {
    const t = tf.slice(decided, [0, at], [batch, width]) as tf.Tensor2D;
    at += width;
    return t;
  };
  const match: MctfMatch = { r, r1, r2, unmIdx: field(nUnm), srcIdx: field(r1), dstIdx: field(r1), device: decision };
  if (p.bidirection) match.second = { unmIdx: field(n - t1 - r2), srcIdx: field(r2), dstIdx: field(r2) };
  return match;
}

/** Assignment, max-pooled features and attnNext of a fused decision. */
export function applyDeviceDecision(input: ReduceInput, p: MctfLayerParams, decision: MctfDeviceDecision, r: number): Reduction {
  const [batch, n] = input.x.shape;
  const nOut = n - r;
  const out = tf.tidy(() => {
    const { decided, criteria } = decision;
    const target = decided.shape[1] === n ? tf.clone(decided) : (tf.slice(decided, [0, 0], [batch, n]) as tf.Tensor2D);
    const coeff = mctfCoeffs(decided, criteria, input.size, p.pooling);
    return {
      target,
      coeff,
      features: p.pooling === 2 ? mctfMaxPool(input.x, decided, nOut) : undefined,
      attnNext: p.oneStepAhead ? mctfAttnNext(input.attention.probs as tf.Tensor4D, decided, coeff, nOut, p.pooling === 2) : undefined,
    };
  });
  const reduction: Reduction = { assignment: { target: out.target, coeff: out.coeff, nOut } };
  if (out.features) reduction.features = out.features;
  if (out.attnNext) reduction.attnNext = out.attnNext;
  return reduction;
}

/** The engine's form: decision and apply, no indices. */
export function reduceFused(input: ReduceInput, p: MctfLayerParams, r: number, numProtected: number): Reduction {
  const decision = mctfDecideFused(input, p, r, numProtected, false);
  try {
    return applyDeviceDecision(input, p, decision, r);
  } finally {
    tf.dispose([decision.decided, decision.criteria]);
  }
}

/** Deterministic values in [−0.5, 0.5). */
function noise(length: number, seed: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => {
    const v = Math.sin((i + seed) * 12.9898) * 43758.5453;
    return v - Math.floor(v) - 0.5;
  });
}

/**
 * The device check: the fused and the generic MCTF on 19 tokens of which two pairs are identical
 * (tokens 5 = 3 among B, 8 = 2 among A, attention columns and sizes too: ties in the argmax, in
 * both edge rankings), in every pooling mode, one- and bidirectional, with and without a class
 * token and the powers on and off; rows and indices must be equal, coefficients, attnNext and
 * features within 1e-6. The layer norm program against ops.ts's on the same tokens, 1e-5.
 */
async function checkMctf(): Promise<string | null> {
  const { applyMatch, disposeMatch, mctfMatch } = await import('../mctf');
  const n = 19;
  const [batch, heads, d] = [2, 2, 6];
  const values = noise(batch * n * d, 1);
  const probValues = noise(batch * heads * n * n, 7).map((v) => v + 0.6);
  const sizes = Float32Array.from({ length: batch * n }, (_, i) => 1 + (i % 3));
  for (let b = 0; b < batch; b++) {
    values.copyWithin((b * n + 5) * d, (b * n + 3) * d, (b * n + 4) * d);
    values.copyWithin((b * n + 8) * d, (b * n + 2) * d, (b * n + 3) * d);
    sizes[b * n + 5] = sizes[b * n + 3];
    sizes[b * n + 8] = sizes[b * n + 2];
    for (let row = 0; row < heads * n; row++) {
      const at = (b * heads * n + row) * n;
      probValues[at + 5] = probValues[at + 3];
      probValues[at + 8] = probValues[at + 2];
    }
  }
  const x = tf.tensor3d(values, [batch, n, d]);
  const probs = tf.tensor4d(probValues, [batch, heads, n, n]);
  const size = tf.tensor3d(sizes, [batch, n, 1]);
  const base: MctfLayerParams = { r: 6, tauSim: 1, tauInfo: 20, tauSize: 40, bidirection: true, oneStepAhead: true, pooling: 1 };
  const cases: [Partial<MctfLayerParams>, boolean][] = [
    [{}, true], // the engine's default
    [{ pooling: 0, bidirection: false }, true],
    [{ pooling: 2, r: 7 }, true],
    [{ pooling: 3, tauInfo: 0, tauSim: 2 }, false],
    [{ pooling: 1, tauSim: 0, r: 5 }, true],
  ];
  try {
    for (const [change, classToken] of cases) {
      const p = { ...base, ...change };
      const input: ReduceInput = { x, size, sizeIsTracked: true, attention: { probs }, layer: 0, depth: 12, classToken, distillToken: false };
      const r = p.r;
      const numProtected = classToken ? 1 : 0;
      const problem = await checkOnDevice(
        () => {
          const decision = mctfDecideFused(input, p, r, numProtected, true);
          return { match: matchFromDevice(decision, p, r, n), reduction: applyDeviceDecision(input, p, decision, r) };
        },
        () => {
          const match = mctfMatch(input, p)!;
          return { match, reduction: applyMatch(input, p, match) };
        },
        async (fused, generic) => {
          const a = fused.reduction;
          const g = generic.reduction;
          const pairs: [string, tf.Tensor | undefined, tf.Tensor | undefined, number][] = [
            ['rows', a.assignment.target, g.assignment.target, 0],
            ['coefficients', a.assignment.coeff, g.assignment.coeff, 1e-6],
            ['attnNext', a.attnNext, g.attnNext, 1e-6],
            ['features', a.features, g.features, 1e-6],
            ['unmIdx', fused.match.unmIdx, generic.match.unmIdx, 0],
            ['srcIdx', fused.match.srcIdx, generic.match.srcIdx, 0],
            ['dstIdx', fused.match.dstIdx, generic.match.dstIdx, 0],
            ['unmIdx2', fused.match.second?.unmIdx, generic.match.second?.unmIdx, 0],
            ['srcIdx2', fused.match.second?.srcIdx, generic.match.second?.srcIdx, 0],
            ['dstIdx2', fused.match.second?.dstIdx, generic.match.second?.dstIdx, 0],
          ];
          for (const [what, f, gen, tolerance] of pairs) {
            if (!f !== !gen) return `${what}: present on one path only`;
            const problem = f && gen ? await sameValues(f, gen, tolerance) : null;
            if (problem) return `pooling ${p.pooling}${p.bidirection ? '' : ', one-directional'}: ${what}: ${problem}`;
          }
          return null;
        },
        ({ match, reduction }) => {
          disposeMatch(match);
          tf.dispose([reduction.assignment.target, reduction.assignment.coeff, reduction.attnNext, reduction.features].filter((t) => t !== undefined));
        },
      );
      if (problem) return problem;
    }
    return null;
  } finally {
    tf.dispose([x, probs, size]);
  }
}

registerFusedFamily(MCTF_FAMILY, 'MCTF', checkMctf);
