/**
 * ToMe's bipartite soft matching on WebGL by our programs (best match: norms, split, row max around
 * TF.js's matmul; decision: ranks, rows) plus the mean coefficients, instead of ~40 generic ops; the twin of ../webgpu/tome-fused.ts, with which it shares
 * src/reduce/shared/tome-programs.ts. The generic path in tome.ts stays the reference; the check registered
 * here runs both on the same inputs (ties included) before the programs are switched on for a device.
 */
import type * as tf from '@tensorflow/tfjs';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { checkOnWebGL, sameValues } from '../../tokens/webgl/check';
import type { TomeMatch, TomeMatchOptions } from '../tome';
import { checkTomePrograms, tomeMatchByPrograms, type TomePrograms } from '../../reduce/shared/tome-programs';
import { TOME_GL_FAMILY, tomeBestMatchGL } from './tome-best-match';
import { tomeDecideGL } from './tome-decide';

const PROGRAMS: TomePrograms = { bestMatch: tomeBestMatchGL, decide: tomeDecideGL };

/** `bipartiteSoftMatching` for rEff ≥ 1 (already clamped) by the WebGL programs. */
export function tomeMatchGL(metric: tf.Tensor3D, rEff: number, options: TomeMatchOptions): TomeMatch {
  return tomeMatchByPrograms(PROGRAMS, metric, rEff, options);
}

registerFusedFamily(TOME_GL_FAMILY, 'ToMe', () => checkTomePrograms(PROGRAMS, checkOnWebGL, sameValues, ['srcIdx', 'dstIdx', 'unmIdx', 'edgeOrder']), 'webgl');
