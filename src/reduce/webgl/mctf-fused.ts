/**
 * MCTF on WebGL in about a dozen programs a reducing block (criteria, matching, output rows,
 * coefficients, merged attention) instead of ~290 generic TF.js programs; the twin of
 * ../webgpu/mctf-fused.ts, with which it shares src/reduce/shared/mctf-programs.ts (the decision's
 * layout, the apply step and the device check run before the programs are switched on for a
 * device). The generic path in mctf.ts stays the reference.
 */
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { checkOnWebGL, sameValues } from '../../tokens/webgl/check';
import { checkMctfPrograms, type MctfPrograms } from '../../reduce/shared/mctf-programs';
import { MCTF_GL_FAMILY, mctfCriteriaGL } from './mctf-criteria';
import { mctfDecideGL } from './mctf-decide';
import { mctfCoeffsGL, mctfMergedGL } from './mctf-merge';

export const MCTF_GL_PROGRAMS: MctfPrograms = {
  family: MCTF_GL_FAMILY,
  // no workgroup memory: any token count (int32 rows are exact as floats far beyond a ViT's)
  maxTokens: Infinity,
  decide(x, probs, size, criteriaOptions, options) {
    const criteria = mctfCriteriaGL(x, probs, size, criteriaOptions);
    return { decided: mctfDecideGL(x, criteria, options), criteria };
  },
  coeffs: mctfCoeffsGL,
  merged: mctfMergedGL,
};

registerFusedFamily(MCTF_GL_FAMILY, 'MCTF', () => checkMctfPrograms(MCTF_GL_PROGRAMS, checkOnWebGL, sameValues), 'webgl');
