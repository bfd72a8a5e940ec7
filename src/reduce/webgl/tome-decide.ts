/**
 * ToMe's edge choice and output rows as one WebGL program, the GLSL twin of
 * ../webgpu/tome-decide.ts, from each A token's best match (tome-best-match.ts): the r best edges
 * become sources, every token gets its output row in [unmerged A, all of B] order (moved to
 * [unm[0], B[0], unm[1:], B[1:]] with a distillation token). Replaces the sort of the scores, the
 * inverse permutation, the cumulative count of the unmerged, the wheres and the interleave.
 *
 * An A token's rank is the number of A tokens with a higher best score, or the same score and a
 * lower index (ties lower index first, as tf.topk); it is a source when its rank is below r. The
 * ranks come first, one program (`tome_rank_gl`, O(|A|) per A token); a fragment shader writes
 * only its own element, so each of the decision's elements then finds what it needs by scanning
 * the ranks: O(|A|) per element. (Counting ranks inside the decision made it O(|A|²) per element,
 * ~20 ms per DeiT-T block on SwiftShader.)
 *
 * With `withIndices` each image's row also carries the decision's indices after the N targets:
 * [targets N | edge order |A| | unmerged A (output order) |A| − r | sources r | destinations r].
 */
import { tomeDecideWidth, type TomeDecideOptions } from '../../reduce/shared/tome-programs';
import type * as tf from '@tensorflow/tfjs';
import { runGLProgram } from '../../tokens/webgl/program';
import { TOME_GL_FAMILY } from './tome-best-match';
import { descendingRankGlsl } from './rank';

/** Each A token's rank among the edges, [B, |A|]: O(|A|) per element, once per decision. */
const RANK = {
  key: 'tome_rank_gl',
  family: TOME_GL_FAMILY,
  inputs: ['best'],
  ints: ['nA'],
  code: descendingRankGlsl('best', 'nA'),
};

const DECIDE = {
  key: 'tome_decide_gl',
  family: TOME_GL_FAMILY,
  inputs: ['best', 'ranks'],
  ints: ['n', 'nA', 'r', 'sortUnmerged', 'distill'],
  code: `
    int rankOf(int b, int k) { return round(getRanks(b, k)); }

    // the A token whose rank is q
    int ranked(int b, int q) {
      for (int k = 0; k < nA; k++) { if (rankOf(b, k) == q) { return k; } }
      return 0;
    }

    int place(int row) {
      int nUnm = nA - r;
      if (distill == 0 || row == 0) { return row; }
      if (row == nUnm) { return 1; }
      if (row < nUnm) { return row + 1; }
      return row;
    }

    // the output row of token p (the assignment's target)
    int targetOf(int b, int p) {
      int nUnm = nA - r;
      if (p % 2 == 1) { return place(nUnm + p / 2); }
      int i = p / 2;
      int rank = rankOf(b, i);
      if (rank < r) { return place(nUnm + int(getBest(b, i, 1))); }
      if (sortUnmerged == 0) { return place(rank - r); }
      int row = 0;
      for (int k = 0; k < i; k++) { if (rankOf(b, k) >= r) { row++; } }
      return place(row);
    }

    // the u-th unmerged A token in output order
    int unmerged(int b, int u) {
      if (sortUnmerged == 0) { return ranked(b, r + u); }
      int seen = 0;
      for (int k = 0; k < nA; k++) {
        if (rankOf(b, k) >= r) {
          if (seen == u) { return k; }
          seen++;
        }
      }
      return 0;
    }

    void main() {
      ivec2 c = getOutputCoords();
      int b = c.x;
      int col = c.y;
      int nUnm = nA - r;
      int value;
      if (col < n) { value = targetOf(b, col); }
      else if (col < n + nA) { value = ranked(b, col - n); }
      else if (col < n + nA + nUnm) { value = unmerged(b, col - n - nA); }
      else if (col < n + nA + nUnm + r) { value = ranked(b, col - n - nA - nUnm); }
      else { value = int(getBest(b, ranked(b, col - n - nA - nUnm - r), 1)); }
      setOutput(float(value));
    }`,
};

/** best [B, |A|, 2] for N tokens -> int32 [B, width] (targets first). */
export function tomeDecideGL(best: tf.Tensor3D, n: number, { r, sortUnmerged, distillToken, withIndices }: TomeDecideOptions): tf.Tensor2D {
  const [batch, nA] = best.shape;
  const width = tomeDecideWidth(n, r, withIndices);
  const ranks = runGLProgram({ ...RANK, outputShape: [batch, nA] }, [best], 'int32', [nA]);
  const decided = runGLProgram({ ...DECIDE, outputShape: [batch, width] }, [best, ranks], 'int32', [
    n,
    nA,
    r,
    Number(sortUnmerged),
    Number(distillToken),
  ]) as tf.Tensor2D;
  ranks.dispose();
  return decided;
}
