/**
 * MCTF's matching as WebGL programs, the GLSL twin of ../webgpu/mctf-decide.ts (one workgroup per
 * image there; here each step that needs the previous one complete is its own program, and each
 * output element finds what it needs by scanning or counting):
 *
 * - `mctf_unit_gl` (twice) and TF.js's matmul: the cosines of the A tokens (even) against the B
 *   tokens (odd), from the unit vectors, as the generic path computes them.
 * - `mctf_scores_gl` [B, t1, t2]: the multi-criteria score of each (A, B) pair,
 *   ((cos + 1)/2)^(1/τ_sim) · (info_a · info_b) · (size_a · size_b) in that order, as the generic
 *   path multiplies; protected A rows −∞. Kept, because both directions read it.
 * - `mctf_best_a_gl` [B, t1, 2]: each A token's best score and its B partner (first on ties).
 * - `mctf_rank_a_gl` [B, t1]: each A token's rank among those best scores (descending, ties lower
 *   index first, as tf.topk); rank < r1 merges A→B.
 * - `mctf_best_b_gl` [B, t2, 2] (bidirectional): each B token's best score among the A tokens left
 *   and that partner as a position in the unmerged list (on ties the first position, as tf.argMax
 *   over the gathered rows).
 * - `mctf_rows_gl` [B, width]: every token's output row, and with indices the decision's fields in
 *   the layout of src/reduce/shared/mctf-programs.ts. B ranks (B→A) are counted where needed.
 *
 * Replaces the cosine matmul, the score products, the row and column maxima, three sorts, the
 * gathers and the one-hot scatters of the generic path (src/reduce/mctf.ts `bipartiteMatch`,
 * `matchTargets`). Counting costs O(t) per element, O(t²) for the B→A indices, which only the
 * conformance runner and the views ask for.
 */
import * as tf from '@tensorflow/tfjs';
import { runGLProgram } from '../../tokens/webgl/program';
import { mctfDecideWidth, type MctfDecideOptions } from '../../reduce/shared/mctf-programs';
import { MCTF_GL_FAMILY } from './mctf-criteria';
import { descendingRankGlsl } from './rank';

const NEG_INF = 'uintBitsToFloat(0xff800000u)';

// x / ‖x‖ for the A (parity 0) or the B tokens (parity 1): the operands of the cosine matmul
const UNIT = {
  key: 'mctf_unit_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['x', 'crit'],
  ints: ['parity'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int token = 2 * c.y + parity;
      setOutput(getX(c.x, token, c.z) / getCrit(c.x, token, 3));
    }`,
};

const SCORES = {
  key: 'mctf_scores_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['cos', 'crit'],
  ints: ['prot', 'useSim', 'powSim'],
  floats: ['eSim'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int b = c.x;
      int i = c.y;
      if (i < prot) { setOutput(${NEG_INF}); return; }
      int a = 2 * i;
      int o = 2 * c.z + 1;
      float s = 1.0;
      if (useSim == 1) {
        s = (getCos(b, i, c.z) + 1.0) / 2.0;
        if (powSim == 1) { s = pow(s, eSim); }
      }
      s = s * (getCrit(b, a, 1) * getCrit(b, o, 1));
      s = s * (getCrit(b, a, 2) * getCrit(b, o, 2));
      setOutput(s);
    }`,
};

const BEST_A = {
  key: 'mctf_best_a_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['scores'],
  ints: ['t2'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      float best = ${NEG_INF};
      int partner = 0;
      for (int j = 0; j < t2; j++) {
        float s = getScores(c.x, c.y, j);
        if (s > best) { best = s; partner = j; }
      }
      setOutput(c.z == 0 ? best : float(partner));
    }`,
};

const RANK_A = {
  key: 'mctf_rank_a_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['bestA'],
  ints: ['t1'],
  code: descendingRankGlsl('bestA', 't1'),
};

const BEST_B = {
  key: 'mctf_best_b_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['scores', 'rankA'],
  ints: ['t1', 'r1', 'sortUnmerged'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int b = c.x;
      float best = ${NEG_INF};
      int bestI = -1;
      int bestKey = 0;
      // the unmerged A tokens in their output order: by index (class token) or by rank
      for (int i = 0; i < t1; i++) {
        int rank = round(getRankA(b, i));
        if (rank < r1) { continue; }
        float s = getScores(b, i, c.y);
        int key = sortUnmerged == 1 ? i : rank;
        if (bestI < 0 || s > best || (s == best && key < bestKey)) { best = s; bestI = i; bestKey = key; }
      }
      int pos = bestKey - r1;
      if (sortUnmerged == 1) {
        pos = 0;
        for (int k = 0; k < bestI; k++) { if (round(getRankA(b, k)) >= r1) { pos++; } }
      }
      setOutput(c.z == 0 ? best : float(pos));
    }`,
};

const ROWS = {
  key: 'mctf_rows_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['bestA', 'rankA', 'bestB'],
  ints: ['n', 't1', 't2', 'r1', 'r2', 'bidir', 'sortUnmerged'],
  code: `
    int rankOfA(int b, int i) { return round(getRankA(b, i)); }

    int rankB(int b, int j) {
      float s = getBestB(b, j, 0);
      int rank = 0;
      for (int q = 0; q < t2; q++) {
        float o = getBestB(b, q, 0);
        if (o > s || (o == s && q < j)) { rank++; }
      }
      return rank;
    }

    // the A token of rank q; the B token of rank q (B→A)
    int rankedA(int b, int q) {
      for (int i = 0; i < t1; i++) { if (rankOfA(b, i) == q) { return i; } }
      return 0;
    }
    int rankedB(int b, int q) {
      for (int j = 0; j < t2; j++) { if (rankB(b, j) == q) { return j; } }
      return 0;
    }

    // an unmerged A token's position in the output: ascending index (class token) or rank order
    int posA(int b, int i) {
      if (sortUnmerged == 0) { return rankOfA(b, i) - r1; }
      int pos = 0;
      for (int k = 0; k < i; k++) { if (rankOfA(b, k) >= r1) { pos++; } }
      return pos;
    }

    int rowOfB(int b, int j) {
      int nUnm = t1 - r1;
      if (bidir == 0) { return nUnm + j; }
      int rank = rankB(b, j);
      return rank < r2 ? round(getBestB(b, j, 1)) : nUnm + rank - r2;
    }

    int rowOfToken(int b, int p) {
      if (p % 2 == 1) { return rowOfB(b, p / 2); }
      int i = p / 2;
      return rankOfA(b, i) < r1 ? rowOfB(b, round(getBestA(b, i, 1))) : posA(b, i);
    }

    // the u-th unmerged A token in output order
    int unmergedA(int b, int u) {
      if (sortUnmerged == 0) { return rankedA(b, r1 + u); }
      int seen = 0;
      for (int i = 0; i < t1; i++) {
        if (rankOfA(b, i) >= r1) {
          if (seen == u) { return i; }
          seen++;
        }
      }
      return 0;
    }

    void main() {
      ivec2 c = getOutputCoords();
      int b = c.x;
      int col = c.y;
      // where each field starts: rows | unmIdx | srcIdx | dstIdx | unmIdx2 | srcIdx2 | dstIdx2
      int unm = n;
      int src = unm + t1 - r1;
      int dst = src + r1;
      int unm2 = dst + r1;
      int src2 = unm2 + t2 - r2;
      int dst2 = src2 + r2;
      int value = 0;
      if (col < unm) { value = rowOfToken(b, col); }
      else if (col < src) { value = unmergedA(b, col - unm); }
      else if (col < dst) { value = rankedA(b, col - src); }
      else if (col < unm2) { value = round(getBestA(b, rankedA(b, col - dst), 1)); }
      else if (col < src2) { value = rankedB(b, r2 + col - unm2); }
      else if (col < dst2) { value = rankedB(b, col - src2); }
      else { value = round(getBestB(b, rankedB(b, col - dst2), 1)); }
      setOutput(float(value));
    }`,
};

/**
 * x [B, N, D], criteria [B, N, 4] (mctf-criteria.ts) -> int32 [B, `mctfDecideWidth`]: the output
 * rows, then with indices the decision's fields.
 */
export function mctfDecideGL(x: tf.Tensor3D, criteria: tf.Tensor3D, o: MctfDecideOptions): tf.Tensor2D {
  const [batch, n, channels] = x.shape;
  const t1 = Math.ceil(n / 2);
  const t2 = n - t1;
  const sortUnmerged = Number(o.numProtected > 0);
  const useSim = o.simExponent !== null;
  // the cosines by TF.js's packed matmul, as the generic path computes them: ~8 times fewer texture
  // reads than a dot product per score element, which SwiftShader pays for on the CPU
  const unit = (parity: number, rows: number) => runGLProgram({ ...UNIT, outputShape: [batch, rows, channels] }, [x, criteria], 'float32', [parity]);
  const cos = useSim ? tf.tidy(() => tf.matMul(unit(0, t1), unit(1, t2), false, true)) : criteria; // (unread when off)
  const scores = runGLProgram(
    { ...SCORES, outputShape: [batch, t1, t2] },
    [cos, criteria],
    'float32',
    [o.numProtected, Number(useSim), Number(useSim && o.simExponent !== 1)],
    [o.simExponent ?? 1],
  );
  if (cos !== criteria) cos.dispose();
  const bestA = runGLProgram({ ...BEST_A, outputShape: [batch, t1, 2] }, [scores], 'float32', [t2]);
  const rankA = runGLProgram({ ...RANK_A, outputShape: [batch, t1] }, [bestA], 'int32', [t1]);
  // one-directional: no B→A step, and the rows program never reads its third input
  const bestB = o.bidirection ? runGLProgram({ ...BEST_B, outputShape: [batch, t2, 2] }, [scores, rankA], 'float32', [t1, o.r1, sortUnmerged]) : bestA;
  const decided = runGLProgram({ ...ROWS, outputShape: [batch, mctfDecideWidth(n, o)] }, [bestA, rankA, bestB], 'int32', [
    n,
    t1,
    t2,
    o.r1,
    o.r2,
    Number(o.bidirection),
    sortUnmerged,
  ]) as tf.Tensor2D;
  const intermediates = [scores, bestA, rankA, bestB];
  for (const t of new Set(intermediates)) t.dispose();
  return decided;
}
