/**
 * PiToMe's energy and its ranking as one WebGPU program, one workgroup per image: the L2-normalised
 * keys of the T patch tokens (norm floored at 1e-12, as F.normalize), every token's energy
 * E_i = mean_j ELU_α(cos_ij − m) over all j (itself included), then each token's rank by energy
 * (descending; ties lower index first, as tf.topk). Replaces the slice, normalise, T×T matmul,
 * ELU (sub, greater, exp, mul, where), mean and the top-k sort of the generic path.
 *
 * Output float32 [B, 3T]: energies | rank of each token | token at each rank (integers, exact).
 * The norms and energies stay in workgroup memory between the passes, so T is limited to
 * PITOME_MAX_TOKENS (DeiT at 384 px has 576); beyond it the generic path runs.
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';

export const PITOME_FAMILY = 'pitome';
export const PITOME_MAX_TOKENS = 1024;
const WORKGROUP = 256;

/** metric [B, N, C] (CLS first when `off` = 1) -> [B, 3T]. */
export function pitomeEnergyRank(metric: tf.Tensor3D, off: number, margin: number, alpha: number): tf.Tensor2D {
  const [batch, n, channels] = metric.shape;
  const t = n - off;
  const spec = {
    key: 'pitome_energy',
    family: PITOME_FAMILY,
    inputs: ['metric'],
    outputShape: [batch, 3 * t],
    workgroupPerImage: { images: batch, size: WORKGROUP },
    uniforms: 'n : i32, t : i32, off : i32, channels : i32, margin : f32, alpha : f32,',
    code: `
      var<workgroup> norms : array<f32, ${PITOME_MAX_TOKENS}>;
      var<workgroup> energies : array<f32, ${PITOME_MAX_TOKENS}>;

      fn main(index : i32) {
        let b = i32(workgroupId.x);
        let lid = i32(localId.x);
        let T = uniforms.t;
        let C = uniforms.channels;
        let first = b * uniforms.n + uniforms.off;
        for (var i = lid; i < T; i = i + ${WORKGROUP}) {
          var s = 0.0;
          for (var c = 0; c < C; c++) { let v = metric[(first + i) * C + c]; s = s + v * v; }
          norms[i] = max(sqrt(s), 1e-12);
        }
        workgroupBarrier();
        for (var i = lid; i < T; i = i + ${WORKGROUP}) {
          var sum = 0.0;
          for (var j = 0; j < T; j++) {
            var dot = 0.0;
            for (var c = 0; c < C; c++) {
              dot = dot + (metric[(first + i) * C + c] / norms[i]) * (metric[(first + j) * C + c] / norms[j]);
            }
            let u = dot - uniforms.margin;
            sum = sum + select(uniforms.alpha * (exp(u) - 1.0), u, u > 0.0);
          }
          energies[i] = sum / f32(T);
        }
        workgroupBarrier();
        let out = b * 3 * T;
        for (var i = lid; i < T; i = i + ${WORKGROUP}) {
          let e = energies[i];
          var rank = 0;
          for (var k = 0; k < T; k++) {
            let o = energies[k];
            if (o > e || (o == e && k < i)) { rank = rank + 1; }
          }
          result[out + i] = e;
          result[out + T + i] = f32(rank);
          result[out + 2 * T + rank] = f32(i);
        }
      }`,
  };
  return runProgram(spec, [metric], 'float32', [n, t, off, channels], [margin, alpha]) as tf.Tensor2D;
}
