/**
 * ToMe's edge choice and output rows as one WebGPU program, from each A token's best match
 * (tome-best-match.ts): the r best edges become sources, every token gets its output row in
 * [unmerged A, all of B] order (moved to [unm[0], B[0], unm[1:], B[1:]] with a distillation token).
 * Replaces the sort of the scores, the inverse permutation, the cumulative count of the unmerged,
 * the wheres and the interleave of the generic path.
 *
 * One invocation per token. An A token's rank is the number of A tokens with a higher best score,
 * or the same score and a lower index (ties lower index first, as tf.topk); it is a source when its
 * rank is below r. An unmerged A token's row is its rank − r (score order), or, with a class token,
 * the number of unmerged A tokens before it (index order). O(|A|²) comparisons per token: for the
 * token counts of a ViT (|A| ≤ a few hundred) far cheaper than the dispatches it replaces.
 *
 * With `withIndices` each image's row also carries the decision's indices after the N targets:
 * [targets N | edge order |A| | unmerged A (output order) |A| − r | sources r | destinations r].
 */
import { tomeDecideWidth, type TomeDecideOptions } from '../../reduce/shared/tome-programs';
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';
import { TOME_FAMILY } from './tome-best-match';
import { descendingRankWgsl } from './rank';

/** best [B, |A|, 2] for N tokens -> int32 [B, width] (targets first). */
export function tomeDecide(best: tf.Tensor3D, n: number, { r, sortUnmerged, distillToken, withIndices }: TomeDecideOptions): tf.Tensor2D {
  const [batch, nA] = best.shape;
  const nUnm = nA - r;
  const width = tomeDecideWidth(n, r, withIndices);
  const indices = `
        let base = b * uniforms.width + uniforms.n;
        result[base + rank] = i;
        if (rank < uniforms.r) {
          result[base + uniforms.nA + uniforms.nUnm + rank] = i;
          result[base + uniforms.nA + uniforms.nUnm + uniforms.r + rank] = partner;
        } else {
          result[base + uniforms.nA + row] = i;
        }`;
  const spec = {
    key: `tome_decide${withIndices ? '_indices' : ''}`,
    family: TOME_FAMILY,
    inputs: ['best'],
    outputShape: [batch, width],
    invocations: batch * n,
    uniforms: 'n : i32, nA : i32, r : i32, nUnm : i32, sortUnmerged : i32, distill : i32, width : i32, total : i32,',
    code: `
      fn scoreOf(b : i32, k : i32) -> f32 { return best[2 * (b * uniforms.nA + k)]; }

      ${descendingRankWgsl('rankOf', (q) => `scoreOf(b, ${q})`, 'uniforms.nA', 'b : i32, ')}

      fn place(row : i32) -> i32 {
        if (uniforms.distill == 0 || row == 0) { return row; }
        if (row == uniforms.nUnm) { return 1; }
        if (row < uniforms.nUnm) { return row + 1; }
        return row;
      }

      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let b = index / uniforms.n;
        let p = index % uniforms.n;
        if (p % 2 == 1) {
          result[b * uniforms.width + p] = place(uniforms.nUnm + p / 2);
          return;
        }
        let i = p / 2;
        let rank = rankOf(b, i);
        let partner = i32(best[2 * (b * uniforms.nA + i) + 1]);
        var row = rank - uniforms.r;
        if (rank < uniforms.r) {
          row = uniforms.nUnm + partner;
        } else if (uniforms.sortUnmerged == 1) {
          row = 0;
          for (var k = 0; k < i; k++) {
            if (rankOf(b, k) >= uniforms.r) { row = row + 1; }
          }
        }
        result[b * uniforms.width + p] = place(row);
        ${withIndices ? indices : ''}
      }`,
  };
  const uniforms = [n, nA, r, nUnm, Number(sortUnmerged), Number(distillToken), width, batch * n];
  return runProgram(spec, [best], 'int32', uniforms) as tf.Tensor2D;
}
