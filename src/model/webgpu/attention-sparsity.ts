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
import { checkOnDevice, sameValues } from '../../tokens/webgpu/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { runProgram } from '../../tokens/webgpu/program';
import { kthSmallestByTopk } from '../ops';

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

/** The program against top-k on rows with ties, zeros, negatives and ±0, at the ranks that end each run of ties and the extremes. */
async function checkKthSmallest(): Promise<string | null> {
  const length = 300;
  const values = Float32Array.from({ length: 3 * length }, (_, i) => {
    if (i < length) return Math.round(Math.sin(i * 1.3) * 4) / 8; // row 0: many ties
    if (i < 2 * length) return i % 7 === 0 ? 0 : Math.abs(Math.sin(i)) * 1e-3; // row 1: probabilities, zeros
    return ((i % 2 ? -1 : 1) * Math.round(Math.cos(i * 0.7) * 30)) / 10; // row 2: both signs, ties, ±0
  });
  values[2 * length + 5] = -0;
  const rows = tf.tensor2d(values, [3, length]);
  try {
    for (const k of [1, 2, 37, 150, length - 1, length]) {
      const problem = await checkOnDevice(
        () => kthSmallestProgram(rows, k),
        () => kthSmallestByTopk(rows, k),
        (fused, generic) => sameValues(fused, generic, 0),
        (t) => t.dispose(),
      );
      if (problem !== null) return `k = ${k}: ${problem}`;
    }
    return null;
  } finally {
    rows.dispose();
  }
}

registerFusedFamily(ATTENTION_SPARSITY_FAMILY, 'attention sparsity (GTP)', checkKthSmallest);
