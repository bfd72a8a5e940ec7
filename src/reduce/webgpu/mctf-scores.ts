/**
 * MCTF's multi-criteria scores as one WebGPU program, one invocation per (A, B) pair (A = even
 * tokens, B = odd): ((cos + 1)/2)^(1/τ_sim) · (info_a · info_b) · (size_a · size_b), multiplied in
 * that order as the generic path does (src/reduce/mctf.ts `matchScores`); −∞ on the protected rows.
 * The cosine divides both vectors by their norms (from mctf-criteria.ts) and then takes the dot
 * product, the same operations in the same order for every pair, so identical tokens score
 * bit-identically and the tie rule of mctf-decide.ts applies.
 *
 * This is the O(t1 · t2 · C) part of the decision, spread over many workgroups; the ranking that
 * needs every score at once stays in the one-workgroup program (mctf-decide.ts), which reads this
 * matrix for both directions instead of computing the cosines twice.
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';
import { MCTF_FAMILY } from './mctf-criteria';

export interface MctfScoresOptions {
  /** Leading tokens that are never a source (their rows are −∞). */
  numProtected: number;
  /** 1/τ_sim, or null when the similarity criterion is off. */
  simExponent: number | null;
}

/** x [B, N, C], criteria [B, 4N] -> [B, ⌈N/2⌉, ⌊N/2⌋]. */
export function mctfScores(x: tf.Tensor3D, criteria: tf.Tensor2D, { numProtected, simExponent }: MctfScoresOptions): tf.Tensor3D {
  const [batch, n, channels] = x.shape;
  const t1 = Math.ceil(n / 2);
  const t2 = n - t1;
  const spec = {
    key: 'mctf_scores',
    family: MCTF_FAMILY,
    inputs: ['x', 'crit'],
    outputShape: [batch, t1, t2],
    uniforms: 'n : i32, t1 : i32, t2 : i32, channels : i32, prot : i32, useSim : i32, powSim : i32, total : i32, eSim : f32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let j = index % uniforms.t2;
        let i = (index / uniforms.t2) % uniforms.t1;
        let b = index / (uniforms.t1 * uniforms.t2);
        if (i < uniforms.prot) {
          result[index] = -uniforms.INFINITY;
          return;
        }
        let N = uniforms.n;
        let C = uniforms.channels;
        let a = 2 * i;
        let o = 2 * j + 1;
        let cb = b * 4 * N;
        var s = 1.0;
        if (uniforms.useSim == 1) {
          let na = crit[cb + 3 * N + a];
          let no = crit[cb + 3 * N + o];
          let aAt = (b * N + a) * C;
          let oAt = (b * N + o) * C;
          var dot = 0.0;
          for (var c = 0; c < C; c++) { dot = dot + (x[aAt + c] / na) * (x[oAt + c] / no); }
          s = (dot + 1.0) / 2.0;
          if (uniforms.powSim == 1) { s = pow(s, uniforms.eSim); }
        }
        s = s * (crit[cb + N + a] * crit[cb + N + o]);
        s = s * (crit[cb + 2 * N + a] * crit[cb + 2 * N + o]);
        result[index] = s;
      }`,
  };
  const ints = [n, t1, t2, channels, numProtected, Number(simExponent !== null), Number(simExponent !== null && simExponent !== 1), batch * t1 * t2];
  return runProgram(spec, [x, criteria], 'float32', ints, [simExponent ?? 1]) as tf.Tensor3D;
}
