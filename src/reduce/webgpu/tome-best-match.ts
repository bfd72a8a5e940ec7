/**
 * ToMe's similarity step as one WebGPU program: for each A token (even positions) its best cosine
 * against the B tokens (odd positions) and which B token that is. Replaces l2-normalise (square,
 * sum, sqrt, div), the A/B gathers, the A·Bᵀ matmul, the −∞ protection adds, max and argMax.
 *
 * Output [B, ⌈N/2⌉, 2]: (best score, partner index as a float; exact below 2^24). CLS's row is −∞
 * with partner 0 (never a source); with a distillation token B column 0 is never a partner. Ties:
 * the first (lowest) B index, as tf.argMax and the official torch max. Each cosine is computed by
 * the same operations in the same order for every pair (both vectors divided by their norms, then
 * the dot product), so identical tokens give bit-identical scores and the tie rule applies.
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';

export const TOME_FAMILY = 'tome';

/** metric [B, N, C] -> [B, ⌈N/2⌉, 2] (best cosine, partner). */
export function tomeBestMatch(metric: tf.Tensor3D, classToken: boolean, distillToken: boolean): tf.Tensor3D {
  const [batch, n, channels] = metric.shape;
  const nA = Math.ceil(n / 2);
  const nB = n - nA;
  const spec = {
    key: 'tome_bestmatch',
    family: TOME_FAMILY,
    inputs: ['metric'],
    outputShape: [batch, nA, 2],
    invocations: batch * nA,
    uniforms: 'n : i32, nA : i32, nB : i32, channels : i32, total : i32, skipRow0 : i32, skipCol0 : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let i = index % uniforms.nA;
        let b = index / uniforms.nA;
        let C = uniforms.channels;
        let aAt = (b * uniforms.n + 2 * i) * C;
        var best = -uniforms.INFINITY;
        var partner = 0;
        if (!(uniforms.skipRow0 == 1 && i == 0)) {
          var sa = 0.0;
          for (var c = 0; c < C; c++) { sa = sa + metric[aAt + c] * metric[aAt + c]; }
          let na = sqrt(sa);
          for (var j = uniforms.skipCol0; j < uniforms.nB; j++) {
            let bAt = (b * uniforms.n + 2 * j + 1) * C;
            var sb = 0.0;
            for (var c = 0; c < C; c++) { sb = sb + metric[bAt + c] * metric[bAt + c]; }
            let nb = sqrt(sb);
            var dot = 0.0;
            for (var c = 0; c < C; c++) { dot = dot + (metric[aAt + c] / na) * (metric[bAt + c] / nb); }
            if (dot > best) { best = dot; partner = j; }
          }
        }
        result[2 * index] = best;
        result[2 * index + 1] = f32(partner);
      }`,
  };
  return runProgram(spec, [metric], 'float32', [n, nA, nB, channels, batch * nA, Number(classToken), Number(distillToken)]) as tf.Tensor3D;
}
