/**
 * What ToMe's own GPU programs share across backends (../webgpu/tome-fused.ts in WGSL,
 * ../webgl/tome-fused.ts in GLSL): each backend brings a best-match program and a decision program
 * with the same layout; here they become a `TomeMatch` (fields sliced from the decision's rows, mean
 * coefficients), and the device check compares that match with the generic path on tied tokens.
 */
import * as tf from '@tensorflow/tfjs';
import { weightedMeanCoeffs } from '../../tokens/assignment';
import type { TomeMatch, TomeMatchOptions } from '../tome';
import type { CheckOn, SameValues } from '../../tokens/device-check';

export interface TomeDecideOptions {
  r: number;
  sortUnmerged: boolean;
  distillToken: boolean;
  withIndices: boolean;
}

/** One backend's two programs. */
export interface TomePrograms {
  /** metric [B, N, C] -> [B, |A|, 2]: each A token's best score and its B partner. */
  bestMatch(metric: tf.Tensor3D, classToken: boolean, distillToken: boolean): tf.Tensor3D;
  /** best [B, |A|, 2] for N tokens -> int32 [B, `tomeDecideWidth`]: targets, then (with indices) edge order, unmerged, sources, destinations. */
  decide(best: tf.Tensor3D, n: number, options: TomeDecideOptions): tf.Tensor2D;
}

/** Columns of each image's row in the decision's output. */
export function tomeDecideWidth(n: number, r: number, withIndices: boolean): number {
  const nA = Math.ceil(n / 2);
  return withIndices ? n + 2 * nA + r : n;
}

/** `bipartiteSoftMatching` for rEff ≥ 1 (already clamped) by a backend's programs. */
export function tomeMatchByPrograms(programs: TomePrograms, metric: tf.Tensor3D, rEff: number, options: TomeMatchOptions): TomeMatch {
  const [batch, n] = metric.shape;
  const { classToken, distillToken, size, withIndices = true } = options;
  const nA = Math.ceil(n / 2);
  const nUnm = nA - rEff;
  const nOut = n - rEff;
  return tf.tidy(() => {
    const best = programs.bestMatch(metric, classToken, distillToken);
    const decided = programs.decide(best, n, { r: rEff, sortUnmerged: classToken, distillToken, withIndices });
    const target = withIndices ? (tf.slice(decided, [0, 0], [batch, n]) as tf.Tensor2D) : decided;
    const weights = size ? (tf.reshape(size, [batch, n]) as tf.Tensor2D) : (tf.ones([batch, n]) as tf.Tensor2D);
    const coeff = weightedMeanCoeffs(target, weights, nOut, { everyInputKept: true });
    const assignment = { target, coeff, nOut };
    if (!withIndices) return { r: rEff, indices: null, assignment } as unknown as tf.TensorContainer;
    const field = (from: number, width: number) => tf.slice(decided, [0, from], [batch, width]) as tf.Tensor2D;
    const bestScore = tf.reshape(tf.slice(best, [0, 0, 0], [batch, nA, 1]), [batch, nA]) as tf.Tensor2D;
    const bestPartner = tf.cast(tf.reshape(tf.slice(best, [0, 0, 1], [batch, nA, 1]), [batch, nA]), 'int32') as tf.Tensor2D;
    const indices = {
      edgeOrder: field(n, nA),
      unmIdx: field(n + nA, nUnm),
      srcIdx: field(n + nA + nUnm, rEff),
      dstIdx: field(n + nA + nUnm + rEff, rEff),
      bestScore,
      bestPartner,
    };
    return { r: rEff, indices, assignment } as unknown as tf.TensorContainer;
  }) as unknown as TomeMatch;
}

/**
 * The device check: a backend's programs and the generic matching on a small metric with tied
 * tokens (two pairs of identical rows, so ties in the argmax and in the edge sort), with and without
 * a class and a distillation token; targets and the `indices` named must be equal and coefficients
 * within 1e-6.
 */
export async function checkTomePrograms(
  programs: TomePrograms,
  checkOn: CheckOn,
  sameValues: SameValues,
  indices: readonly ('srcIdx' | 'dstIdx' | 'unmIdx' | 'edgeOrder')[],
): Promise<string | null> {
  const { bipartiteSoftMatching, disposeTomeMatch } = await import('../tome');
  const n = 19;
  const values = Float32Array.from({ length: n * 6 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453) - 0.5);
  values.copyWithin(5 * 6, 3 * 6, 4 * 6); // token 5 = token 3 (a tie in A)
  values.copyWithin(8 * 6, 2 * 6, 3 * 6); // token 8 = token 2
  const metric = tf.tensor3d(values, [1, n, 6]);
  const size = tf.tensor3d(
    Float32Array.from({ length: n }, (_, i) => 1 + (i % 3)),
    [1, n, 1],
  );
  try {
    for (const [classToken, distillToken, r, withIndices] of [
      [true, false, 6, false], // the engine's form: no indices
      [true, false, 6, true],
      [true, true, 5, true],
      [false, false, 9, true],
    ] as const) {
      const options = { classToken, distillToken, size, withIndices };
      const problem = await checkOn(
        () => tomeMatchByPrograms(programs, metric, r, options),
        () => bipartiteSoftMatching(metric, r, options),
        async (fused, generic) => {
          const first =
            (await sameValues(fused.assignment.target, generic.assignment.target, 0)) ?? (await sameValues(fused.assignment.coeff, generic.assignment.coeff, 1e-6));
          if (first || !fused.indices || !generic.indices) return first;
          for (const name of indices) {
            const problem = await sameValues(fused.indices[name], generic.indices[name], 0);
            if (problem) return problem;
          }
          return null;
        },
        disposeTomeMatch,
      );
      if (problem) return problem;
    }
    return null;
  } finally {
    tf.dispose([metric, size]);
  }
}
