/**
 * From ATS's packed decision (ats-sample.ts) to what the engine needs, one dispatch each: the kept
 * count it reads back (the largest over the images: the output width), and the selection
 * assignment (target and coefficient of every input token). The assignment does not depend on the
 * count: slots are packed, live ones first, so every image's tokens sit below the batch's count.
 * Replaces the slice, greaterEqual, cast, sum and max of the count and the one-hot build of
 * `selectionAssignment` on the generic path.
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';
import { ATS_FAMILY, type AtsPackedLayout } from './ats-sample';

/** packed [B, width] -> int32 [1]: the largest kept count (CLS included) over the images. */
export function atsKeptCount(packed: tf.Tensor2D, layout: AtsPackedLayout): tf.Tensor1D {
  const spec = {
    key: 'ats_count',
    family: ATS_FAMILY,
    inputs: ['packed'],
    outputShape: [1],
    uniforms: 'images : i32, width : i32, oCount : i32,',
    code: `
      fn main(index : i32) {
        if (index >= 1) { return; }
        var most = 0;
        for (var b = 0; b < uniforms.images; b++) { most = max(most, i32(packed[b * uniforms.width + uniforms.oCount])); }
        result[0] = most;
      }`,
  };
  return runProgram(spec, [packed], 'int32', [packed.shape[0], layout.width, layout.count]) as tf.Tensor1D;
}

/** packed [B, width] -> int32 [B, N]: the slot of every input token, −1 = not kept. */
export function atsSelectionTarget(packed: tf.Tensor2D, layout: AtsPackedLayout, n: number): tf.Tensor2D {
  const batch = packed.shape[0];
  const spec = {
    key: 'ats_target',
    family: ATS_FAMILY,
    inputs: ['packed'],
    outputShape: [batch, n],
    uniforms: 'n : i32, width : i32, oKept : i32, slots : i32, total : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let token = index % uniforms.n;
        let kept = (index / uniforms.n) * uniforms.width + uniforms.oKept;
        var slot = -1;
        for (var s = 0; s <= uniforms.slots; s++) {
          if (i32(packed[kept + s]) == token) { slot = s; break; }
        }
        result[index] = slot;
      }`,
  };
  return runProgram(spec, [packed], 'int32', [n, layout.width, layout.keptTokens, layout.slots, batch * n]) as tf.Tensor2D;
}

/** target [B, N] -> float32 [B, N]: 1 for a kept token, 0 for a dropped one. */
export function atsSelectionCoeff(target: tf.Tensor2D): tf.Tensor2D {
  const [batch, n] = target.shape;
  const spec = {
    key: 'ats_coeff',
    family: ATS_FAMILY,
    inputs: ['slotOf'],
    outputShape: [batch, n],
    uniforms: 'total : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        result[index] = select(0.0, 1.0, slotOf[index] >= 0);
      }`,
  };
  return runProgram(spec, [target], 'float32', [batch * n]) as tf.Tensor2D;
}
