/**
 * ToMe's bipartite soft matching on WebGL in two programs (best match, decision) plus the mean
 * coefficients, instead of ~40 generic ops; the twin of ../webgpu/tome-fused.ts. The generic path in
 * tome.ts stays the reference; the check registered here runs both on the same inputs (ties
 * included) before the programs are switched on for a device.
 */
import * as tf from '@tensorflow/tfjs';
import { weightedMeanCoeffs } from '../../tokens/assignment';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { checkOnWebGL, sameValues } from '../../tokens/webgl/check';
import type { TomeMatch, TomeMatchOptions } from '../tome';
import { TOME_GL_FAMILY, tomeBestMatchGL } from './tome-best-match';
import { tomeDecideGL } from './tome-decide';

/** `bipartiteSoftMatching` for rEff ≥ 1 (already clamped) by the WebGL programs. */
export function tomeMatchGL(metric: tf.Tensor3D, rEff: number, options: TomeMatchOptions): TomeMatch {
  const [batch, n] = metric.shape;
  const { classToken, distillToken, size, withIndices = true } = options;
  const nA = Math.ceil(n / 2);
  const nUnm = nA - rEff;
  const nOut = n - rEff;
  return tf.tidy(() => {
    const best = tomeBestMatchGL(metric, classToken, distillToken);
    const decided = tomeDecideGL(best, n, { r: rEff, sortUnmerged: classToken, distillToken, withIndices });
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
 * The device check: the programs and the generic matching on a small metric with tied tokens (two
 * pairs of identical rows, so ties in the argmax and in the edge sort), with and without a class
 * and a distillation token; targets and indices must be equal and coefficients within 1e-6.
 */
async function checkTome(): Promise<string | null> {
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
      const problem = await checkOnWebGL(
        () => tomeMatchGL(metric, r, options),
        () => bipartiteSoftMatching(metric, r, options),
        async (fused, generic) =>
          (await sameValues(fused.assignment.target, generic.assignment.target, 0)) ??
          (await sameValues(fused.assignment.coeff, generic.assignment.coeff, 1e-6)) ??
          (fused.indices && generic.indices
            ? ((await sameValues(fused.indices.srcIdx, generic.indices.srcIdx, 0)) ??
              (await sameValues(fused.indices.dstIdx, generic.indices.dstIdx, 0)) ??
              (await sameValues(fused.indices.unmIdx, generic.indices.unmIdx, 0)) ??
              (await sameValues(fused.indices.edgeOrder, generic.indices.edgeOrder, 0)))
            : null),
        disposeTomeMatch,
      );
      if (problem) return problem;
    }
    return null;
  } finally {
    tf.dispose([metric, size]);
  }
}

registerFusedFamily(TOME_GL_FAMILY, 'ToMe', checkTome, 'webgl');
