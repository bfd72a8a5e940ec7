/**
 * MCTF's per-token criteria as one WebGPU program, one workgroup per image: the attention each
 * token receives (mean over heads and queries), the informativeness and size criteria (the inverse
 * scaled to a maximum of 1, raised to 1/τ; 1 where a criterion is off) and each token's L2 norm for
 * the cosines. Replaces the mean over two axes, the reciprocals, maxima, divisions and powers of
 * the generic path (src/reduce/mctf.ts `matchScores`).
 *
 * Output float32 [B, 4N]: received | informativeness | size criterion | norm. The maxima need every
 * token's inverse, kept in workgroup memory, so N is limited to MCTF_MAX_TOKENS.
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';
import type { MctfCriteriaOptions } from '../../reduce/shared/mctf-programs';

export const MCTF_FAMILY = 'mctf';
/** Tokens per image the fused MCTF programs take (their workgroup memory is fixed); DeiT at 384 px has 577. */
export const MCTF_MAX_TOKENS = 768;
export const MCTF_WORKGROUP = 256;

/** x [B, N, D], probs [B, H, N, N], size [B, N, 1] -> [B, 4N]. */
export function mctfCriteria(x: tf.Tensor3D, probs: tf.Tensor4D, size: tf.Tensor3D, { infoExponent, sizeExponent }: MctfCriteriaOptions): tf.Tensor2D {
  const [batch, n, channels] = x.shape;
  const heads = probs.shape[1];
  const spec = {
    key: 'mctf_criteria',
    family: MCTF_FAMILY,
    inputs: ['x', 'probs', 'size'],
    outputShape: [batch, 4 * n],
    workgroupPerImage: { images: batch, size: MCTF_WORKGROUP },
    uniforms: 'n : i32, heads : i32, channels : i32, useInfo : i32, powInfo : i32, useSize : i32, powSize : i32, eInfo : f32, eSize : f32,',
    code: `
      var<workgroup> invs : array<f32, ${MCTF_MAX_TOKENS}>;
      var<workgroup> sizeInvs : array<f32, ${MCTF_MAX_TOKENS}>;

      fn main(index : i32) {
        let b = i32(workgroupId.x);
        let lid = i32(localId.x);
        let N = uniforms.n;
        let H = uniforms.heads;
        let C = uniforms.channels;
        let out = b * 4 * N;
        for (var k = lid; k < N; k = k + ${MCTF_WORKGROUP}) {
          var sum = 0.0;
          for (var h = 0; h < H; h++) {
            for (var q = 0; q < N; q++) { sum = sum + probs[((b * H + h) * N + q) * N + k]; }
          }
          let received = sum / f32(H * N);
          result[out + k] = received;
          invs[k] = 1.0 / received;
          sizeInvs[k] = 1.0 / size[b * N + k];
          var s = 0.0;
          for (var c = 0; c < C; c++) { let v = x[(b * N + k) * C + c]; s = s + v * v; }
          result[out + 3 * N + k] = sqrt(s);
        }
        workgroupBarrier();
        var maxInv = -uniforms.INFINITY;
        var maxSizeInv = -uniforms.INFINITY;
        for (var k = 0; k < N; k++) {
          maxInv = max(maxInv, invs[k]);
          maxSizeInv = max(maxSizeInv, sizeInvs[k]);
        }
        for (var k = lid; k < N; k = k + ${MCTF_WORKGROUP}) {
          var info = 1.0;
          if (uniforms.useInfo == 1) {
            info = invs[k] / maxInv;
            if (uniforms.powInfo == 1) { info = pow(info, uniforms.eInfo); }
          }
          var sizeCriterion = 1.0;
          if (uniforms.useSize == 1) {
            sizeCriterion = sizeInvs[k] / maxSizeInv;
            if (uniforms.powSize == 1) { sizeCriterion = pow(sizeCriterion, uniforms.eSize); }
          }
          result[out + N + k] = info;
          result[out + 2 * N + k] = sizeCriterion;
        }
      }`,
  };
  const ints = [
    n,
    heads,
    channels,
    Number(infoExponent !== null),
    Number(infoExponent !== null && infoExponent !== 1),
    Number(sizeExponent !== null),
    Number(sizeExponent !== null && sizeExponent !== 1),
  ];
  return runProgram(spec, [x, probs, size], 'float32', ints, [infoExponent ?? 1, sizeExponent ?? 1]) as tf.Tensor2D;
}
