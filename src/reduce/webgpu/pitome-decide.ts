/**
 * PiToMe's output rows as one WebGPU program, from the energy ranking (pitome-energy.ts) and each
 * A token's best match (pitome-match.ts). One invocation per token; CLS (if any) stays at row 0.
 * - 'bsm': ToMe's choice inside (A, B) = (even ranks, odd ranks): the r A tokens with the best
 *   matches (ties lower A position first) merge into their B token; rows [unmerged A in match-score
 *   order, B in rank order].
 * - 'protect': every A (even rank < 2r) merges into its B; rows [protected (rank ≥ 2r) in rank
 *   order, B (odd rank < 2r) in rank order].
 * With `withIndices` ('bsm') each image's row also carries [edge order |A| | unmerged A |A| − r |
 * sources r | destinations r] after the N targets, as tome-decide.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';
import { PITOME_FAMILY } from './pitome-energy';
import { descendingRankWgsl } from './rank';

export interface PitomeDecideOptions {
  n: number;
  off: number;
  r: number;
  bsm: boolean;
  withIndices: boolean;
}

export function pitomeDecideWidth(n: number, nA: number, r: number, bsm: boolean, withIndices: boolean): number {
  return withIndices && bsm ? n + 2 * nA + r : n;
}

/** ranked [B, 3T], best [B, nA, 2] -> int32 [B, width] (targets first). */
export function pitomeDecide(ranked: tf.Tensor2D, best: tf.Tensor3D, { n, off, r, bsm, withIndices }: PitomeDecideOptions): tf.Tensor2D {
  const [batch, nA] = best.shape;
  const t = n - off;
  const width = pitomeDecideWidth(n, nA, r, bsm, withIndices);
  const indices = `
          let base = b * uniforms.width + uniforms.n;
          result[base + sr] = i;
          if (sr < uniforms.r) {
            result[base + uniforms.nA + uniforms.nUnm + sr] = i;
            result[base + uniforms.nA + uniforms.nUnm + uniforms.r + sr] = partner;
          } else {
            result[base + uniforms.nA + sr - uniforms.r] = i;
          }`;
  const spec = {
    key: `pitome_decide${withIndices && bsm ? '_indices' : ''}`,
    family: PITOME_FAMILY,
    inputs: ['ranked', 'best'],
    outputShape: [batch, width],
    invocations: batch * n,
    uniforms: 'n : i32, t : i32, off : i32, nA : i32, r : i32, nUnm : i32, bsm : i32, width : i32, total : i32,',
    code: `
      fn scoreOf(b : i32, k : i32) -> f32 { return best[2 * (b * uniforms.nA + k)]; }

      // rank of A position k by best score (descending, ties lower position first)
      ${descendingRankWgsl('scoreRank', (q) => `scoreOf(b, ${q})`, 'uniforms.nA', 'b : i32, ')}

      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let b = index / uniforms.n;
        let p = index % uniforms.n;
        if (p < uniforms.off) { result[b * uniforms.width + p] = 0; return; }
        let rank = i32(ranked[b * 3 * uniforms.t + uniforms.t + p - uniforms.off]);
        var row = 0;
        if (uniforms.bsm == 1) {
          if (rank % 2 == 1) {
            row = uniforms.nUnm + rank / 2;
          } else {
            let i = rank / 2;
            let sr = scoreRank(b, i);
            let partner = i32(best[2 * (b * uniforms.nA + i) + 1]);
            row = select(sr - uniforms.r, uniforms.nUnm + partner, sr < uniforms.r);
            ${withIndices && bsm ? indices : ''}
          }
        } else {
          let firstB = uniforms.t - 2 * uniforms.r;
          if (rank >= 2 * uniforms.r) {
            row = rank - 2 * uniforms.r;
          } else if (rank % 2 == 1) {
            row = firstB + rank / 2;
          } else {
            row = firstB + i32(best[2 * (b * uniforms.nA + rank / 2) + 1]);
          }
        }
        result[b * uniforms.width + p] = row + uniforms.off;
      }`,
  };
  return runProgram(spec, [ranked, best], 'int32', [n, t, off, nA, r, nA - r, Number(bsm), width, batch * n]) as tf.Tensor2D;
}
