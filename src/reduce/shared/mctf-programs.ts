/**
 * What MCTF's own GPU programs share across backends (../webgpu/mctf-fused.ts in WGSL,
 * ../webgl/mctf-fused.ts in GLSL): each backend brings a decision (criteria, both matching
 * directions, output rows) that leaves the same int32 layout, and the merge programs built on it
 * (pooling coefficients, the merged attention, max pooling); here they become an `MctfMatch` or a
 * `Reduction`, and the device check compares them with the generic path on tied tokens.
 *
 * The decision's layout, one row per image: the N output rows, then with `withIndices` the indices
 * in `MctfMatch`'s form: unmIdx (t1 − r1) | srcIdx r1 | dstIdx r1 [| unmIdx2 (t2 − r2) | srcIdx2 r2 |
 * dstIdx2 r2 when bidirectional].
 */
import * as tf from '@tensorflow/tfjs';
import type { ReduceInput, Reduction } from '../../tokens/types';
import type { MctfLayerParams, MctfMatch, MctfPooling } from '../mctf';
import type { CheckOn, SameValues } from '../../tokens/device-check';

export interface MctfCriteriaOptions {
  /** 1/τ of the informativeness criterion, or null when it is off. */
  infoExponent: number | null;
  /** 1/τ of the size criterion, or null when it is off. */
  sizeExponent: number | null;
}

export interface MctfDecideOptions {
  r1: number;
  r2: number;
  bidirection: boolean;
  numProtected: number;
  /** 1/τ_sim, or null when the similarity criterion is off. */
  simExponent: number | null;
  withIndices: boolean;
}

/** Columns of each image's row in the decision's output. */
export function mctfDecideWidth(n: number, { r1, r2, bidirection, withIndices }: MctfDecideOptions): number {
  if (!withIndices) return n;
  const t1 = Math.ceil(n / 2);
  return n + t1 + r1 + (bidirection ? n - t1 + r2 : 0);
}

/** One backend's programs. */
export interface MctfPrograms {
  /** The family they belong to (kernel-status.ts). */
  family: string;
  /** Most tokens per image they take. */
  maxTokens: number;
  /**
   * x [B, N, D], probs [B, H, N, N], size [B, N, 1] -> `decided` int32 [B, `mctfDecideWidth`] and the
   * backend's per-token criteria, which `coeffs` reads (received attention among them).
   */
  decide(
    x: tf.Tensor3D,
    probs: tf.Tensor4D,
    size: tf.Tensor3D,
    criteria: MctfCriteriaOptions,
    options: MctfDecideOptions,
  ): { decided: tf.Tensor2D; criteria: tf.Tensor };
  /** The pooling coefficients [B, N]: weight over its group's sum, summed in token order. */
  coeffs(decided: tf.Tensor2D, criteria: tf.Tensor, size: tf.Tensor3D, pooling: MctfPooling): tf.Tensor2D;
  /** The merged attention [B, H, N', N'] and/or max pooling's features [B, N', D], as asked. */
  merged(
    x: tf.Tensor3D,
    probs: tf.Tensor4D,
    decided: tf.Tensor2D,
    coeff: tf.Tensor2D,
    nOut: number,
    want: { attnNext: boolean; maxPool: boolean },
  ): { attnNext?: tf.Tensor4D; features?: tf.Tensor3D };
}

/** What a backend's decision leaves for the apply step (owned by the match, or by the caller's tidy). */
export interface MctfDeviceDecision {
  /** int32 [B, width]: output rows, then the indices when asked for. */
  decided: tf.Tensor2D;
  /** The backend's per-token criteria. */
  criteria: tf.Tensor;
  programs: MctfPrograms;
}

/** Whether `programs` can take this input: attention given and few enough tokens. */
export function mctfProgramsFit(programs: MctfPrograms, input: ReduceInput): boolean {
  return input.attention.probs !== undefined && input.x.shape[1] <= programs.maxTokens;
}

const exponent = (tau: number) => 1 / tau;

function decideOptions(p: MctfLayerParams, r: number, numProtected: number, withIndices: boolean): MctfDecideOptions {
  const r1 = p.bidirection ? Math.floor(r / 2) : r;
  return { r1, r2: r - r1, bidirection: p.bidirection, numProtected, simExponent: p.tauSim ? exponent(p.tauSim) : null, withIndices };
}

/** The decision for r ≥ 1 (already by the official rule) by a backend's programs. */
export function mctfDecideByPrograms(
  programs: MctfPrograms,
  input: ReduceInput,
  p: MctfLayerParams,
  r: number,
  numProtected: number,
  withIndices: boolean,
): MctfDeviceDecision {
  const tensors = tf.tidy(() =>
    programs.decide(
      input.x,
      input.attention.probs as tf.Tensor4D,
      input.size,
      {
        infoExponent: p.tauInfo > 0 ? exponent(p.tauInfo) : null,
        sizeExponent: p.tauSize && input.sizeIsTracked ? exponent(p.tauSize) : null,
      },
      decideOptions(p, r, numProtected, withIndices),
    ),
  );
  return { ...tensors, programs };
}

/** `mctfMatch`'s fields from a decision with indices (the tensors are new; the decision moves into the match). */
export function matchFromDecision(decision: MctfDeviceDecision, p: MctfLayerParams, r: number, n: number): MctfMatch {
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

/** Assignment, max-pooled features and attnNext of a decision. */
export function applyDecision(input: ReduceInput, p: MctfLayerParams, decision: MctfDeviceDecision, r: number): Reduction {
  const [batch, n] = input.x.shape;
  const nOut = n - r;
  const out = tf.tidy(() => {
    const { decided, criteria, programs } = decision;
    const target = decided.shape[1] === n ? tf.clone(decided) : (tf.slice(decided, [0, 0], [batch, n]) as tf.Tensor2D);
    const coeff = programs.coeffs(decided, criteria, input.size, p.pooling);
    const merged = programs.merged(input.x, input.attention.probs as tf.Tensor4D, decided, coeff, nOut, {
      attnNext: p.oneStepAhead,
      maxPool: p.pooling === 2,
    });
    return { target, coeff, ...merged };
  });
  const reduction: Reduction = { assignment: { target: out.target, coeff: out.coeff, nOut } };
  if (out.features) reduction.features = out.features;
  if (out.attnNext) reduction.attnNext = out.attnNext;
  return reduction;
}

/** The engine's form: decision and apply, no indices. */
export function reduceByPrograms(programs: MctfPrograms, input: ReduceInput, p: MctfLayerParams, r: number, numProtected: number): Reduction {
  const decision = mctfDecideByPrograms(programs, input, p, r, numProtected, false);
  try {
    return applyDecision(input, p, decision, r);
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
 * The device check: a backend's programs and the generic MCTF on 19 tokens of which two pairs are
 * identical (tokens 5 = 3 among B, 8 = 2 among A, attention columns and sizes too: ties in the
 * argmax, in both edge rankings), in every pooling mode, one- and bidirectional, with and without a
 * class token and the powers on and off; rows and indices must be equal, coefficients, attnNext and
 * features within 1e-6.
 */
export async function checkMctfPrograms(programs: MctfPrograms, checkOn: CheckOn, sameValues: SameValues): Promise<string | null> {
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
      const problem = await checkOn(
        () => {
          const decision = mctfDecideByPrograms(programs, input, p, r, numProtected, true);
          return { match: matchFromDecision(decision, p, r, n), reduction: applyDecision(input, p, decision, r) };
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
