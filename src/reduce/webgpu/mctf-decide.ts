/**
 * MCTF's matching as one WebGPU program, one workgroup per image, from the criteria of
 * mctf-criteria.ts: the multi-criteria score of each (A, B) pair (A = even tokens, B = odd),
 * each A token's best B, the r1 best edges (A→B), then each B token's best among the A tokens left
 * and the r2 best of those (B→A), and every token's output row. Replaces the cosine matmul, the
 * score products, the row and column maxima, three sorts, the gathers and the one-hot scatters of
 * the generic path (src/reduce/mctf.ts `bipartiteMatch`, `matchTargets`).
 *
 * Score: ((cos + 1)/2)^(1/τ_sim) · (info_a · info_b) · (size_a · size_b), multiplied in that order as
 * the generic path does; CLS's row −∞. The scores are computed again for the B→A step (only for the
 * A tokens left) rather than stored: the [t1, t2] matrix does not fit in workgroup memory. Ties: the
 * lowest index in every maximum and ranking (rank.ts), as tf.argMax and tf.topk.
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

/** x [B, N, D], criteria [B, 4N] -> int32 [B, width]. */
export function mctfDecide(x: tf.Tensor3D, criteria: tf.Tensor2D, o: MctfDecideOptions): tf.Tensor2D {
  const [batch, n, channels] = x.shape;
  const t1 = Math.ceil(n / 2);
  const width = mctfDecideWidth(n, o);
  const spec = {
    key: `mctf_decide${o.withIndices ? '_indices' : ''}`,
    family: MCTF_FAMILY,
    inputs: ['x', 'crit'],
    outputShape: [batch, width],
    workgroupPerImage: { images: batch, size: MCTF_WORKGROUP },
    uniforms:
      'n : i32, t1 : i32, t2 : i32, channels : i32, r1 : i32, r2 : i32, nUnm : i32, prot : i32, bidir : i32, useSim : i32, powSim : i32, width : i32, eSim : f32,',
    code: `
      var<workgroup> nodeMax : array<f32, ${HALF}>;
      var<workgroup> nodeIdx : array<i32, ${HALF}>;
      var<workgroup> rankA : array<i32, ${HALF}>;
      var<workgroup> posA : array<i32, ${HALF}>;
      var<workgroup> unmList : array<i32, ${HALF}>;
      var<workgroup> nodeMax2 : array<f32, ${HALF}>;
      var<workgroup> nodeIdx2 : array<i32, ${HALF}>;
      var<workgroup> targetB : array<i32, ${HALF}>;

      fn score(b : i32, i : i32, j : i32) -> f32 {
        if (i < uniforms.prot) { return -uniforms.INFINITY; }
        let N = uniforms.n;
        let C = uniforms.channels;
        let a = 2 * i;
        let o = 2 * j + 1;
        let cb = b * 4 * N;
        var s = 1.0;
        if (uniforms.useSim == 1) {
          let na = crit[cb + 3 * N + a];
          let no = crit[cb + 3 * N + o];
          var dot = 0.0;
          for (var c = 0; c < C; c++) { dot = dot + (x[(b * N + a) * C + c] / na) * (x[(b * N + o) * C + c] / no); }
          s = (dot + 1.0) / 2.0;
          if (uniforms.powSim == 1) { s = pow(s, uniforms.eSim); }
        }
        s = s * (crit[cb + N + a] * crit[cb + N + o]);
        s = s * (crit[cb + 2 * N + a] * crit[cb + 2 * N + o]);
        return s;
      }
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
  const ints = [
    n,
    t1,
    n - t1,
    channels,
    o.r1,
    o.r2,
    t1 - o.r1,
    o.numProtected,
    Number(o.bidirection),
    Number(o.simExponent !== null),
    Number(o.simExponent !== null && o.simExponent !== 1),
    width,
  ];
  return runProgram(spec, [x, criteria], 'int32', ints, [o.simExponent ?? 1]) as tf.Tensor2D;
}
