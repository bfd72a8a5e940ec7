/**
 * MCTF's matching as one WebGPU program, one workgroup per image, from the score matrix of
 * mctf-scores.ts: each A token's best B (A = even tokens, B = odd), the r1 best edges (A→B), then
 * each B token's best among the A tokens left and the r2 best of those (B→A), and every token's
 * output row. Replaces the row and column maxima, three sorts, the gathers and the one-hot scatters
 * of the generic path (src/reduce/mctf.ts `bipartiteMatch`, `matchTargets`). Only these O(t1 · t2)
 * reads and the rankings run in the one workgroup; the cosines, O(t1 · t2 · C), run in parallel
 * before it.
 *
 * Ties: the lowest index in every maximum and ranking (rank.ts), as tf.argMax and tf.topk.
 *
 * Output int32 [B, width] in the layout of src/reduce/shared/mctf-programs.ts: the N output rows, then with
 * `withIndices` the decision's indices.
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';
import { MCTF_FAMILY, MCTF_MAX_TOKENS, MCTF_WORKGROUP } from './mctf-criteria';
import { descendingRankWgsl } from './rank';
import { mctfDecideWidth, type MctfDecideOptions } from '../../reduce/shared/mctf-programs';

const HALF = MCTF_MAX_TOKENS / 2;

/** scores [B, ⌈N/2⌉, ⌊N/2⌋] (mctf-scores.ts) for N tokens -> int32 [B, width]. */
export function mctfDecide(scores: tf.Tensor3D, n: number, o: MctfDecideOptions): tf.Tensor2D {
  const [batch, t1, t2] = scores.shape;
  const width = mctfDecideWidth(n, o);
  const spec = {
    key: `mctf_decide${o.withIndices ? '_indices' : ''}`,
    family: MCTF_FAMILY,
    inputs: ['scores'],
    outputShape: [batch, width],
    workgroupPerImage: { images: batch, size: MCTF_WORKGROUP },
    uniforms: 'n : i32, t1 : i32, t2 : i32, r1 : i32, r2 : i32, nUnm : i32, prot : i32, bidir : i32, width : i32,',
    code: `
      var<workgroup> nodeMax : array<f32, ${HALF}>;
      var<workgroup> nodeIdx : array<i32, ${HALF}>;
      var<workgroup> rankA : array<i32, ${HALF}>;
      var<workgroup> posA : array<i32, ${HALF}>;
      var<workgroup> unmList : array<i32, ${HALF}>;
      var<workgroup> nodeMax2 : array<f32, ${HALF}>;
      var<workgroup> nodeIdx2 : array<i32, ${HALF}>;
      var<workgroup> targetB : array<i32, ${HALF}>;

      fn score(b : i32, i : i32, j : i32) -> f32 { return scores[(b * uniforms.t1 + i) * uniforms.t2 + j]; }
      ${descendingRankWgsl('rankOfA', (q) => `nodeMax[${q}]`, 'uniforms.t1')}
      ${descendingRankWgsl('rankOfB', (q) => `nodeMax2[${q}]`, 'uniforms.t2')}

      fn main(index : i32) {
        let b = i32(workgroupId.x);
        let lid = i32(localId.x);
        let T1 = uniforms.t1;
        let T2 = uniforms.t2;
        let nUnm = uniforms.nUnm;
        let r1 = uniforms.r1;
        let r2 = uniforms.r2;
        let row = b * uniforms.width;
        let withIdx = uniforms.width > uniforms.n;
        // index fields after the N output rows
        let unmAt = row + uniforms.n;
        let srcAt = unmAt + nUnm;
        let dstAt = srcAt + r1;
        let unm2At = dstAt + r1;
        let src2At = unm2At + T2 - r2;
        let dst2At = src2At + r2;
        for (var i = lid; i < T1; i = i + ${MCTF_WORKGROUP}) {
          var best = -uniforms.INFINITY;
          var partner = 0;
          for (var j = 0; j < T2; j++) {
            let s = score(b, i, j);
            if (s > best) { best = s; partner = j; }
          }
          nodeMax[i] = best;
          nodeIdx[i] = partner;
        }
        workgroupBarrier();
        for (var i = lid; i < T1; i = i + ${MCTF_WORKGROUP}) { rankA[i] = rankOfA(i); }
        workgroupBarrier();
        for (var i = lid; i < T1; i = i + ${MCTF_WORKGROUP}) {
          let rank = rankA[i];
          if (rank >= r1) {
            // unmerged A: ascending index with a class token, else edge order
            var pos = rank - r1;
            if (uniforms.prot > 0) {
              pos = 0;
              for (var k = 0; k < i; k++) { if (rankA[k] >= r1) { pos = pos + 1; } }
            }
            posA[i] = pos;
            unmList[pos] = i;
          }
        }
        workgroupBarrier();
        if (uniforms.bidir == 1) {
          for (var j = lid; j < T2; j = j + ${MCTF_WORKGROUP}) {
            var best = -uniforms.INFINITY;
            var partner = 0;
            for (var pos = 0; pos < nUnm; pos++) {
              let s = score(b, unmList[pos], j);
              if (s > best) { best = s; partner = pos; }
            }
            nodeMax2[j] = best;
            nodeIdx2[j] = partner;
          }
        }
        workgroupBarrier();
        for (var j = lid; j < T2; j = j + ${MCTF_WORKGROUP}) {
          var t = nUnm + j;
          if (uniforms.bidir == 1) {
            let rank = rankOfB(j);
            if (rank < r2) {
              t = nodeIdx2[j];
              if (withIdx) {
                result[src2At + rank] = j;
                result[dst2At + rank] = nodeIdx2[j];
              }
            } else {
              t = nUnm + rank - r2;
              if (withIdx) { result[unm2At + rank - r2] = j; }
            }
          }
          targetB[j] = t;
          result[row + 2 * j + 1] = t;
        }
        workgroupBarrier();
        for (var i = lid; i < T1; i = i + ${MCTF_WORKGROUP}) {
          let rank = rankA[i];
          if (rank < r1) {
            let partner = nodeIdx[i];
            result[row + 2 * i] = targetB[partner];
            if (withIdx) {
              result[srcAt + rank] = i;
              result[dstAt + rank] = partner;
            }
          } else {
            result[row + 2 * i] = posA[i];
            if (withIdx) { result[unmAt + posA[i]] = i; }
          }
        }
      }`,
  };
  const ints = [n, t1, t2, o.r1, o.r2, t1 - o.r1, o.numProtected, Number(o.bidirection), width];
  return runProgram(spec, [scores], 'int32', ints) as tf.Tensor2D;
}
