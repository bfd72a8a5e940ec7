/**
 * PiToMe's matching step as one WebGPU program: A and B alternate along the energy ranking (all of
 * it in 'bsm' layers, its top 2r in 'protect' layers); every A token finds its most similar B token
 * (cosine of the normalised keys, first B on ties). Output [B, |A|, 2] (best cosine, B position),
 * the layout of ToMe's best match (tome-best-match.ts), read by pitome-decide.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';
import { PITOME_FAMILY } from './pitome-energy';

/** metric [B, N, C], ranked [B, 3T] (pitome-energy.ts) -> [B, nA, 2]. */
export function pitomeMatchBest(metric: tf.Tensor3D, ranked: tf.Tensor2D, off: number, nA: number, nB: number): tf.Tensor3D {
  const [batch, n, channels] = metric.shape;
  const t = n - off;
  const spec = {
    key: 'pitome_match',
    family: PITOME_FAMILY,
    inputs: ['metric', 'ranked'],
    outputShape: [batch, nA, 2],
    invocations: batch * nA,
    uniforms: 'n : i32, t : i32, off : i32, channels : i32, nA : i32, nB : i32, total : i32,',
    code: `
      fn normOf(row : i32) -> f32 {
        var s = 0.0;
        for (var c = 0; c < uniforms.channels; c++) { let v = metric[row * uniforms.channels + c]; s = s + v * v; }
        return max(sqrt(s), 1e-12);
      }

      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let i = index % uniforms.nA;
        let b = index / uniforms.nA;
        let C = uniforms.channels;
        let order = b * 3 * uniforms.t + 2 * uniforms.t;
        let first = b * uniforms.n + uniforms.off;
        let a = first + i32(ranked[order + 2 * i]);
        let na = normOf(a);
        var best = -uniforms.INFINITY;
        var partner = 0;
        for (var j = 0; j < uniforms.nB; j++) {
          let o = first + i32(ranked[order + 2 * j + 1]);
          let no = normOf(o);
          var dot = 0.0;
          for (var c = 0; c < C; c++) { dot = dot + (metric[a * C + c] / na) * (metric[o * C + c] / no); }
          if (dot > best) { best = dot; partner = j; }
        }
        result[2 * index] = best;
        result[2 * index + 1] = f32(partner);
      }`,
  };
  return runProgram(spec, [metric, ranked], 'float32', [n, t, off, channels, nA, nB, batch * nA]) as tf.Tensor3D;
}
