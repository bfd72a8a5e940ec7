/**
 * GTP's sparsity threshold (ops.ts `sparsifyAttention`) on WebGL: the k-th smallest of each
 * image-and-head's N² probabilities as one GLSL program, the radix select of
 * ../webgpu/attention-sparsity.ts (order-preserving integer keys, 8 bits a pass, one output texel
 * per row). TF.js 4.22's WebGL top-k hands rows under 100,000 values to the CPU with a synchronous
 * read, and our GPU top-k (src/tokens/webgl/topk.ts) takes rows of at most 1,024, so at DeiT's 197
 * tokens (N² = 38,809) every sparsified block read back and sorted on the CPU. Checked on the
 * device against top-k before it runs (src/tokens/webgpu/kernel-status.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnWebGL } from '../../tokens/webgl/check';
import { runGLProgram } from '../../tokens/webgl/program';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { checkKthSmallest } from '../kth-smallest-check';

export const ATTENTION_SPARSITY_GL_FAMILY = 'attention-sparsity-webgl';

const KTH_SMALLEST = {
  key: 'kth_smallest_gl',
  family: ATTENTION_SPARSITY_GL_FAMILY,
  inputs: ['x'],
  ints: ['rowLength', 'kth'],
  code: `
    uint sortKey(float v) {
      uint bits = floatBitsToUint(v);
      return (bits & 0x80000000u) != 0u ? ~bits : (bits | 0x80000000u);
    }

    void main() {
      int row = getOutputCoords().x;
      uint bins[256];
      uint prefix = 0u;
      uint rank = uint(kth);
      for (int digitPass = 0; digitPass < 4; digitPass++) {
        uint shift = uint(24 - 8 * digitPass);
        for (int d = 0; d < 256; d++) { bins[d] = 0u; }
        for (int i = 0; i < rowLength; i++) {
          uint key = sortKey(getX(row, i));
          if (digitPass == 0 || (key >> (shift + 8u)) == (prefix >> (shift + 8u))) {
            uint digit = (key >> shift) & 255u;
            bins[digit] += 1u;
          }
        }
        uint below = 0u;
        uint digit = 255u;
        for (int d = 0; d < 256; d++) {
          if (below + bins[d] >= rank) { digit = uint(d); break; }
          below += bins[d];
        }
        prefix |= digit << shift;
        rank -= below;
      }
      uint bits = (prefix & 0x80000000u) != 0u ? (prefix & 0x7fffffffu) : ~prefix;
      setOutput(uintBitsToFloat(bits));
    }`,
};

/** rows [R, M], 1 ≤ k ≤ M -> [R, 1]: the k-th smallest value of each row. */
export function kthSmallestGL(rows: tf.Tensor2D, k: number): tf.Tensor2D {
  const [count, length] = rows.shape;
  return runGLProgram({ ...KTH_SMALLEST, outputShape: [count, 1] }, [rows], 'float32', [length, k]) as tf.Tensor2D;
}

registerFusedFamily(ATTENTION_SPARSITY_GL_FAMILY, 'attention sparsity (GTP)', () => checkKthSmallest(kthSmallestGL, checkOnWebGL), 'webgl');
