/**
 * ATS on WebGL as GLSL programs of our own (ats-sample.ts) instead of ~270 generic TF.js programs
 * per reducing block: six for the decision and one for the kept count before the engine's one
 * asynchronous read of it, two for the selection after it. The twin of ../webgpu/ats-fused.ts, with
 * which it shares src/reduce/shared/ats-programs.ts (interface and device check); the generic path in
 * ats.ts stays the reference.
 */
import * as tf from '@tensorflow/tfjs';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { checkOnWebGL, sameValues } from '../../tokens/webgl/check';
import type { AtsSample } from '../ats';
import { checkAtsPrograms, type AtsPrograms } from '../../reduce/shared/ats-programs';
import {
  ATS_GL_FAMILY,
  atsCoeffGL,
  atsCountGL,
  atsDecideGL,
  atsGLTensors,
  atsKeptGL,
  atsSignificanceGL,
  atsTargetGL,
  atsUniqueGL,
  type AtsGLDecision,
} from './ats-sample';

export { ATS_GL_FAMILY };

function fields(decision: AtsGLDecision): { significance: tf.Tensor2D; sample: AtsSample } {
  return tf.tidy(() => {
    const { sorted, cdf, picks, window } = decision;
    const { t, m } = window;
    const batch = sorted.shape[0];
    const sample: AtsSample = {
      sortedScores: tf.slice(sorted, [0, 0], [batch, t]),
      sortedIndices: tf.cast(tf.slice(sorted, [0, t], [batch, t]), 'int32'),
      normalizedCdf: tf.slice(cdf, [0, 0], [batch, t]),
      ys: tf.slice(cdf, [0, t], [batch, m]),
      picks: tf.clone(picks),
      uniqueIndices: atsUniqueGL(decision),
      keptTokens: atsKeptGL(decision),
    };
    return { significance: atsSignificanceGL(decision), sample } as unknown as tf.TensorContainer;
  }) as unknown as { significance: tf.Tensor2D; sample: AtsSample };
}

/** The GLSL programs as ATS's shared interface. */
export const ATS_GL_PROGRAMS: AtsPrograms<AtsGLDecision> = {
  decide: atsDecideGL,
  tensors: atsGLTensors,
  count: (decision) => tf.tidy(() => tf.reshape(atsCountGL(decision), []) as tf.Scalar),
  assignment(decision, n, nOut) {
    const target = atsTargetGL(decision, n);
    return { target, coeff: atsCoeffGL(target), nOut };
  },
  fields,
};

registerFusedFamily(ATS_GL_FAMILY, 'ATS', () => checkAtsPrograms(ATS_GL_PROGRAMS, checkOnWebGL, sameValues), 'webgl');
