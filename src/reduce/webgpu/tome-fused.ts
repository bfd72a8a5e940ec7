/**
 * ToMe's bipartite soft matching on WebGPU in three dispatches (best match, decision, mean
 * coefficients) instead of ~40 generic ops; the generic path in tome.ts stays the reference and
 * the path of every other backend. Same assignment, token for token: the check registered here
 * runs both on the same inputs (ties included) before the fused path is switched on for a device.
 * What this shares with the WebGL twin (../webgl/tome-fused.ts) is src/reduce/shared/tome-programs.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { checkOnDevice, sameValues } from '../../tokens/webgpu/check';
import type { TomeMatch, TomeMatchOptions } from '../tome';
import { checkTomePrograms, tomeMatchByPrograms, type TomePrograms } from '../../reduce/shared/tome-programs';
import { TOME_FAMILY, tomeBestMatch } from './tome-best-match';
import { tomeDecide } from './tome-decide';

const PROGRAMS: TomePrograms = { bestMatch: tomeBestMatch, decide: tomeDecide };

/** `bipartiteSoftMatching` for rEff ≥ 1 (already clamped) by the fused programs. */
export function tomeMatchFused(metric: tf.Tensor3D, rEff: number, options: TomeMatchOptions): TomeMatch {
  return tomeMatchByPrograms(PROGRAMS, metric, rEff, options);
}

registerFusedFamily(TOME_FAMILY, 'ToMe', () => checkTomePrograms(PROGRAMS, checkOnDevice, sameValues, ['srcIdx', 'dstIdx', 'unmIdx']));
