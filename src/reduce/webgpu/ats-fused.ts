/**
 * ATS on WebGPU in four dispatches (the decision, the kept count, the selection's targets and
 * coefficients) instead of most of the generic path's 245 per reducing block (docs/PERFORMANCE.md,
 * "ATS on WebGPU"); the generic path in ats.ts stays the reference
 * and the path of every other backend. The kept count is still the one number read back, once per
 * reducing block, asynchronously (DeferredReduction). The check registered here
 * (src/reduce/shared/ats-programs.ts) runs both paths on the same inputs before the fused path is switched
 * on for a device.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnDevice, sameValues } from '../../tokens/webgpu/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import type { AtsSample, AtsSampling } from '../ats';
import { checkAtsPrograms, type AtsPrograms } from '../../reduce/shared/ats-programs';
import { ATS_FAMILY, ATS_MAX_HEADS, atsPackedLayout, atsSamplePacked, type AtsPackedLayout } from './ats-sample';
import { atsKeptCount, atsSelectionCoeff, atsSelectionTarget } from './ats-select';

export { ATS_FAMILY };

/** Whether the fused path can take this many heads (their eps terms sit in workgroup memory). */
export function atsFusedFits(heads: number): boolean {
  return heads <= ATS_MAX_HEADS;
}

/** The packed decision of a block and where its fields are. */
export interface AtsFusedDecision {
  packed: tf.Tensor2D;
  layout: AtsPackedLayout;
}

/** clsRows [B, H, N], norms [B, N] -> the packed decision (ats-sample.ts). Caller disposes. */
export function atsDecideFused(clsRows: tf.Tensor3D, norms: tf.Tensor2D, sampling: AtsSampling, epsTerms: boolean, eps: number): AtsFusedDecision {
  const t = clsRows.shape[2] - 1;
  return { packed: atsSamplePacked(clsRows, norms, sampling, epsTerms, eps), layout: atsPackedLayout(t, sampling.samples) };
}

/** The largest kept count as an int32 scalar: the tensor the engine reads back. Caller disposes. */
export function atsFusedCount({ packed, layout }: AtsFusedDecision): tf.Scalar {
  return tf.tidy(() => tf.reshape(atsKeptCount(packed, layout), []) as tf.Scalar);
}

/** The selection of the kept tokens for N input tokens and `nOut` output rows. Caller disposes. */
export function atsFusedAssignment({ packed, layout }: AtsFusedDecision, n: number, nOut: number): { target: tf.Tensor2D; coeff: tf.Tensor2D; nOut: number } {
  const target = atsSelectionTarget(packed, layout, n);
  return { target, coeff: atsSelectionCoeff(target), nOut };
}

/** The significance and every step of the sampling, as the generic path returns them (evidence, conformance). Caller disposes. */
export function atsFusedFields({ packed, layout }: AtsFusedDecision): { significance: tf.Tensor2D; sample: AtsSample } {
  return tf.tidy(() => {
    const batch = packed.shape[0];
    const { t, m } = layout;
    const floats = (from: number, width: number) => tf.slice(packed, [0, from], [batch, width]) as tf.Tensor2D;
    const ints = (from: number, width: number) => tf.cast(floats(from, width), 'int32') as tf.Tensor2D;
    const sample: AtsSample = {
      sortedScores: floats(layout.sortedScores, t),
      sortedIndices: ints(layout.sortedIndices, t),
      normalizedCdf: floats(layout.normalizedCdf, t),
      ys: floats(layout.ys, m),
      picks: ints(layout.picks, m),
      uniqueIndices: ints(layout.uniqueIndices, m),
      keptTokens: ints(layout.keptTokens, 1 + layout.slots),
    };
    return { significance: floats(layout.significance, t), sample } as unknown as tf.TensorContainer;
  }) as unknown as { significance: tf.Tensor2D; sample: AtsSample };
}

/** The WGSL programs as ATS's shared interface (src/reduce/shared/ats-programs.ts). */
export const ATS_WGSL_PROGRAMS: AtsPrograms<AtsFusedDecision> = {
  decide: atsDecideFused,
  tensors: (decision) => [decision.packed],
  count: atsFusedCount,
  assignment: atsFusedAssignment,
  fields: atsFusedFields,
};

registerFusedFamily(ATS_FAMILY, 'ATS', () => checkAtsPrograms(ATS_WGSL_PROGRAMS, checkOnDevice, sameValues));
