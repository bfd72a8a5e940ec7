/**
 * MCTF on WebGPU in a handful of dispatches: criteria (mctf-criteria.ts), the score matrix
 * (mctf-scores.ts), matching and output rows (mctf-decide.ts), pooling coefficients and the merged attention (mctf-merge.ts), where the
 * generic path runs ~160 small ops per layer; the generic path in mctf.ts stays the reference and
 * the path of every other backend. What the WebGPU and WebGL programs share (the decision's
 * layout, the apply step, the device check run before the programs are switched on for a device)
 * is src/reduce/shared/mctf-programs.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import { checkOnDevice, sameValues } from '../../tokens/webgpu/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { checkMctfPrograms, type MctfPrograms } from '../../reduce/shared/mctf-programs';
import { MCTF_FAMILY, MCTF_MAX_TOKENS, mctfCriteria } from './mctf-criteria';
import { mctfDecide } from './mctf-decide';
import { mctfAttnNext, mctfCoeffs, mctfMaxPool } from './mctf-merge';
import { mctfScores } from './mctf-scores';

export const MCTF_WGSL_PROGRAMS: MctfPrograms = {
  family: MCTF_FAMILY,
  maxTokens: MCTF_MAX_TOKENS,
  decide(x, probs, size, criteriaOptions, options) {
    const criteria = mctfCriteria(x, probs, size, criteriaOptions);
    const scores = mctfScores(x, criteria, options);
    return { decided: mctfDecide(scores, x.shape[1], options), criteria };
  },
  coeffs: (decided, criteria, size, pooling) => mctfCoeffs(decided, criteria as tf.Tensor2D, size, pooling),
  merged(x, probs, decided, coeff, nOut, want) {
    return {
      attnNext: want.attnNext ? mctfAttnNext(probs, decided, coeff, nOut, want.maxPool) : undefined,
      features: want.maxPool ? mctfMaxPool(x, decided, nOut) : undefined,
    };
  },
};

registerFusedFamily(MCTF_FAMILY, 'MCTF', () => checkMctfPrograms(MCTF_WGSL_PROGRAMS, checkOnDevice, sameValues));
