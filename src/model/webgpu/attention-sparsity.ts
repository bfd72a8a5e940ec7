/**
 * The threshold of GTP's attention sparsification (ops.ts `sparsifyAttention`) on WebGPU: the k-th
 * smallest of each image-and-head's N² probabilities, found by one program instead of TF.js's
 * top-k. That top-k sorts the whole row bitonically, about 125 dispatches per block at DeiT's 197
 * tokens (N² = 38,809), and made GTP with sparsity slower than the unreduced model on WebGPU.
 *
 * One invocation per row selects by radix, 8 bits at a time from the top: each of 4 passes counts
 * the row's values that share the digits found so far into 256 bins, and the bin where the running
 * count reaches the rank left fixes the next digit. The keys map every float to an unsigned integer
 * of the same order (sign bit flipped for non-negative values, all bits for negative ones), so the
 * value found is exactly the k-th smallest, ties counted, as top-k gives it. A row per invocation
 * suits a software adapter (docs/PERFORMANCE.md, "GTP's attention sparsity"); a GPU would want a
 * workgroup per row. Checked on the device against top-k before it runs
 * (src/tokens/webgpu/kernel-status.ts). WebGL runs the same select in GLSL
 * (../webgl/attention-sparsity.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnDevice } from '../../tokens/webgpu/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { runProgram } from '../../tokens/webgpu/program';
import { checkKthSmallest } from '../kth-smallest-check';

export const ATTENTION_SPARSITY_FAMILY = 'attention-sparsity';
const BINS = 256;

/** rows [R, M], 1 ≤ k ≤ M -> [R, 1]: the k-th smallest value of each row. */
export function kthSmallestProgram(rows: tf.Tensor2D, k: number): tf.Tensor2D {
  const [count, length] = rows.shape;
  const spec = {
    key: 'kth_smallest',
    family: ATTENTION_SPARSITY_FAMILY,
    inputs: ['x'],
    outputShape: [count, 1],
    invocations: count,
    uniforms: 'rows : i32, rowLength : i32, kth : i32,',
    code: `
      fn sortKey(v : f32) -> u32 {
        let bits = bitcast<u32>(v);
        if ((bits & 0x80000000u) != 0u) { return ~bits; }
        return bits | 0x80000000u;
      }

      fn main(index : i32) {
        if (index >= uniforms.rows) { return; }
        let M = uniforms.rowLength;
        let base = index * M;
        var bins : array<u32, ${BINS}>;
        var prefix = 0u;
        var rank = u32(uniforms.kth);
        for (var round = 0u; round < 4u; round++) {
          let shift = 24u - 8u * round;
          for (var d = 0; d < ${BINS}; d++) { bins[d] = 0u; }
          for (var i = 0; i < M; i++) {
            let key = sortKey(x[base + i]);
            if (round == 0u || (key >> (shift + 8u)) == (prefix >> (shift + 8u))) {
              let digit = (key >> shift) & 255u;
              bins[digit] = bins[digit] + 1u;
            }
          }
          var below = 0u;
          var digit = 255u;
          for (var d = 0u; d < ${BINS}u; d++) {
            if (below + bins[d] >= rank) { digit = d; break; }
            below = below + bins[d];
          }
          prefix = prefix | (digit << shift);
          rank = rank - below;
        }
        var bits = prefix & 0x7fffffffu;
        if ((prefix & 0x80000000u) == 0u) { bits = ~prefix; }
        result[index] = bitcast<f32>(bits);
      }`,
  };
  return runProgram(spec, [rows], 'float32', [count, length, k]) as tf.Tensor2D;
}

registerFusedFamily(ATTENTION_SPARSITY_FAMILY, 'attention sparsity (GTP)', () => checkKthSmallest(kthSmallestProgram, checkOnDevice));
