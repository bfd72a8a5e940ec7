/**
 * ATS's decision as WebGL programs, the GLSL twin of ../webgpu/ats-sample.ts and ats-select.ts
 * (docs/METHODS.md#ats). A fragment shader writes one output element, so the WGSL program's
 * sequential one-workgroup steps become separate programs, each element finding what it needs by
 * scanning (O(T) or O(M) per element; a ViT has a few hundred tokens):
 *
 * - `ats_score_gl` [B, T]: (sum over heads of the CLS row, with the ATS softmax's eps terms) · ‖v‖.
 * - `ats_rank_gl` [B, T]: each normalised score's ascending rank (smaller, or equal with a lower
 *   index: the generic path's tf.topk of the negation). Normalising divides by the sum of the
 *   scores, which every program that needs it adds up itself in the same order (identical floats).
 * - `ats_sorted_gl` [B, 2T]: the ascending scores, then their indices (the score whose rank is p).
 * - `ats_cdf_gl` [B, T + M]: the CDF (added in order, as torch.cumsum) normalised by its min and
 *   max, then the M draws (from the smallest non-zero normalised value to 1).
 * - `ats_pick_gl` [B, M]: each draw's nearest entry of the CDF window (first entry on equal
 *   distances), as a CDF position (negative in the zero padding).
 * - `ats_survive_gl` [B, W]: 1 for a window entry some draw picked that get_unique_indices keeps.
 *   In the ascending picks every value equal to its right neighbour is dropped and the last one is
 *   compared with 1, so each picked value survives once, except the value 1 when it is the largest.
 * - `ats_count_gl` [1]: the largest kept count over the images (CLS included): what the engine reads.
 * - `ats_target_gl` [B, N]: the slot of every input token (−1 = not kept): 1 + the number of
 *   surviving entries before its own, below min(M, T) slots; `ats_coeff_gl`: 1 where kept.
 * - For the evidence only: `ats_sig_gl` (the normalised significance), `ats_unique_gl` (the unique
 *   positions, T for the rest) and `ats_kept_gl` (the token of every slot, CLS first, −1 empty).
 *
 * Shapes and every integer are uniforms (eps terms as float bits), so a new token count compiles
 * nothing. Integers are stored as floats (exact below 2^24).
 */
import * as tf from '@tensorflow/tfjs';
import { invariant } from '../../errors';
import { runGLProgram } from '../../tokens/webgl/program';

export const ATS_GL_FAMILY = 'ats-webgl';

/** The sum of an image's raw scores, in index order; the same code in every program that divides by it. */
const TOTAL = `
  float totalOf(int b) {
    float s = 0.0;
    for (int k = 0; k < t; k++) { s += getScore(b, k); }
    return s;
  }`;

const SCORE = {
  key: 'ats_score_gl',
  family: ATS_GL_FAMILY,
  inputs: ['clsRows', 'valueNorm'],
  ints: ['heads', 'n', 'epsTerms', 'liftBits', 'denomBits'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int b = c.x;
      int j = c.y + 1;
      float lift = intBitsToFloat(liftBits);
      float denom = intBitsToFloat(denomBits);
      float a = 0.0;
      for (int h = 0; h < heads; h++) {
        float p = getClsRows(b, h, j);
        if (epsTerms == 1) {
          // (s + max s · eps/N) / (1 + max s · eps), as ats.ts atsEpsTerms
          float top = getClsRows(b, h, 0);
          for (int k = 1; k < n; k++) { top = max(top, getClsRows(b, h, k)); }
          a += (p + top * lift) / (top * denom + 1.0);
        } else {
          a += p;
        }
      }
      setOutput(a * getValueNorm(b, j));
    }`,
};

const SIGNIFICANCE = {
  key: 'ats_sig_gl',
  family: ATS_GL_FAMILY,
  inputs: ['score'],
  ints: ['t'],
  code: `${TOTAL}
    void main() {
      ivec2 c = getOutputCoords();
      setOutput(getScore(c.x, c.y) / totalOf(c.x));
    }`,
};

const RANK = {
  key: 'ats_rank_gl',
  family: ATS_GL_FAMILY,
  inputs: ['score'],
  ints: ['t'],
  code: `${TOTAL}
    void main() {
      ivec2 c = getOutputCoords();
      float total = totalOf(c.x);
      float s = getScore(c.x, c.y) / total;
      int rank = 0;
      for (int k = 0; k < t; k++) {
        float o = getScore(c.x, k) / total;
        if (o < s || (o == s && k < c.y)) { rank++; }
      }
      setOutput(float(rank));
    }`,
};

const SORTED = {
  key: 'ats_sorted_gl',
  family: ATS_GL_FAMILY,
  inputs: ['score', 'rank'],
  ints: ['t'],
  code: `${TOTAL}
    void main() {
      ivec2 c = getOutputCoords();
      int p = c.y < t ? c.y : c.y - t;
      int found = 0;
      for (int k = 0; k < t; k++) {
        if (int(getRank(c.x, k)) == p) { found = k; break; }
      }
      setOutput(c.y < t ? getScore(c.x, found) / totalOf(c.x) : float(found));
    }`,
};

const CDF = {
  key: 'ats_cdf_gl',
  family: ATS_GL_FAMILY,
  inputs: ['sorted', 'lin'],
  ints: ['t', 'm'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int b = c.x;
      // the CDF in order, its min and max, and this column's entry
      float acc = 0.0;
      float lo = 0.0;
      float hi = 0.0;
      float mine = 0.0;
      for (int k = 0; k < t; k++) {
        acc += getSorted(b, k);
        lo = k == 0 ? acc : min(lo, acc);
        hi = k == 0 ? acc : max(hi, acc);
        if (k == c.y) { mine = acc; }
      }
      float span = hi - lo;
      if (c.y < t) {
        setOutput((mine - lo) / span);
        return;
      }
      // create_ys: y0 = the smallest non-zero normalised entry (zeros count as 1e8)
      float y0 = 1e8;
      acc = 0.0;
      for (int k = 0; k < t; k++) {
        acc += getSorted(b, k);
        float v = (acc - lo) / span;
        y0 = min(y0, v == 0.0 ? 1e8 : v);
      }
      int i = c.y - t;
      setOutput(y0 + (getLin(i) - y0 * float(i)) / float(m - 1));
    }`,
};

const PICK = {
  key: 'ats_pick_gl',
  family: ATS_GL_FAMILY,
  inputs: ['cdf'],
  ints: ['t', 'shift', 'windowSize'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      float y = getCdf(c.x, t + c.y);
      int best = 0;
      float bestDistance = 0.0;
      // window entry j is CDF entry j − shift (0 before it)
      for (int j = 0; j < windowSize; j++) {
        int at = j - shift;
        float d = abs(y - (at >= 0 ? getCdf(c.x, at) : 0.0));
        if (j == 0 || d < bestDistance) { best = j; bestDistance = d; }
      }
      setOutput(float(best - shift));
    }`,
};

const SURVIVE = {
  key: 'ats_survive_gl',
  family: ATS_GL_FAMILY,
  inputs: ['picks'],
  ints: ['m', 'shift'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int v = c.y - shift;
      bool hit = false;
      int largest = int(getPicks(c.x, 0));
      for (int i = 0; i < m; i++) {
        int p = int(getPicks(c.x, i));
        if (p == v) { hit = true; }
        largest = max(largest, p);
      }
      setOutput(hit && !(v == 1 && v == largest) ? 1.0 : 0.0);
    }`,
};

const COUNT = {
  key: 'ats_count_gl',
  family: ATS_GL_FAMILY,
  inputs: ['survive'],
  ints: ['images', 'windowSize', 'slots'],
  code: `
    void main() {
      int most = 0;
      for (int b = 0; b < images; b++) {
        int live = 0;
        for (int j = 0; j < windowSize; j++) {
          if (getSurvive(b, j) > 0.5) { live++; }
        }
        most = max(most, 1 + min(live, slots));
      }
      setOutput(float(most));
    }`,
};

const TARGET = {
  key: 'ats_target_gl',
  family: ATS_GL_FAMILY,
  inputs: ['rank', 'survive'],
  ints: ['shift', 'windowSize', 'slots'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      if (c.y == 0) {
        setOutput(0.0);
        return;
      }
      // the first slot whose unique position is this token's (positions below 0 take position 0's token)
      int p = int(getRank(c.x, c.y - 1));
      int slot = -1;
      int s = 0;
      for (int j = 0; j < windowSize && s < slots; j++) {
        if (getSurvive(c.x, j) > 0.5) {
          if (max(j - shift, 0) == p) { slot = s + 1; break; }
          s++;
        }
      }
      setOutput(float(slot));
    }`,
};

const COEFF = {
  key: 'ats_coeff_gl',
  family: ATS_GL_FAMILY,
  inputs: ['slotOf'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      setOutput(getSlotOf(c.x, c.y) >= 0.0 ? 1.0 : 0.0);
    }`,
};

const UNIQUE = {
  key: 'ats_unique_gl',
  family: ATS_GL_FAMILY,
  inputs: ['survive'],
  ints: ['t', 'shift', 'windowSize'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int s = 0;
      int value = t;
      for (int j = 0; j < windowSize; j++) {
        if (getSurvive(c.x, j) > 0.5) {
          if (s == c.y) { value = j - shift; break; }
          s++;
        }
      }
      setOutput(float(value));
    }`,
};

const KEPT = {
  key: 'ats_kept_gl',
  family: ATS_GL_FAMILY,
  inputs: ['survive', 'sorted'],
  ints: ['t', 'shift', 'windowSize'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      if (c.y == 0) {
        setOutput(0.0);
        return;
      }
      int s = 0;
      float token = -1.0;
      for (int j = 0; j < windowSize; j++) {
        if (getSurvive(c.x, j) > 0.5) {
          if (s == c.y - 1) { token = getSorted(c.x, t + max(j - shift, 0)) + 1.0; break; }
          s++;
        }
      }
      setOutput(token);
    }`,
};

/** How the draws meet the CDF (ats.ts `AtsSampling`, flattened). */
export interface AtsGLSampling {
  samples: number;
  crop: boolean;
}

/** The window of CDF entries the M draws are matched against: padded to M, cropped to the top M, or whole. */
export interface AtsGLWindow {
  t: number;
  m: number;
  /** Window entry j is CDF entry j − shift. */
  shift: number;
  size: number;
  /** min(M, T): slots after CLS. */
  slots: number;
}

export function atsGLWindow(t: number, { samples: m, crop }: AtsGLSampling): AtsGLWindow {
  const padOrCrop = m > t || (m < t && crop);
  return { t, m, shift: padOrCrop ? m - t : 0, size: padOrCrop ? m : t, slots: Math.min(m, t) };
}

/** The tensors of one decision; every later step reads from them. */
export interface AtsGLDecision {
  window: AtsGLWindow;
  /** [B, T] raw scores (before normalising). */
  score: tf.Tensor2D;
  /** [B, T] ascending rank of each token after CLS. */
  rank: tf.Tensor2D;
  /** [B, 2T] ascending scores, then their indices. */
  sorted: tf.Tensor2D;
  /** [B, T + M] normalised CDF, then the draws. */
  cdf: tf.Tensor2D;
  /** [B, M] int32: each draw's CDF position. */
  picks: tf.Tensor2D;
  /** [B, W] 1 for a kept window entry. */
  survive: tf.Tensor2D;
}

/** torch.linspace(0, 1, m) · (m − 1) in float32, as the generic path's tf.mul(lin, m − 1). */
function scaledLinspace(m: number): Float32Array {
  const step = Math.fround(1 / (m - 1));
  const half = Math.floor(m / 2);
  return Float32Array.from({ length: m }, (_, i) => {
    const lin = i < half ? Math.fround(step * i) : Math.fround(1 - Math.fround(step * (m - 1 - i)));
    return Math.fround(lin * (m - 1));
  });
}

/** The bits of v as a float32, for an int uniform the shader reads back with intBitsToFloat. */
function floatBits(v: number): number {
  return new Int32Array(Float32Array.of(v).buffer)[0];
}

/**
 * clsRows [B, H, N] (post-softmax CLS query rows), norms [B, N] -> the decision's tensors. With
 * `epsTerms` the ATS softmax's eps terms are applied to the rows first. Caller disposes (`atsGLTensors`).
 */
export function atsDecideGL(clsRows: tf.Tensor3D, norms: tf.Tensor2D, sampling: AtsGLSampling, epsTerms: boolean, eps: number): AtsGLDecision {
  const [batch, heads, n] = clsRows.shape;
  const t = n - 1;
  const window = atsGLWindow(t, sampling);
  const { m, shift } = window;
  const score = runGLProgram({ ...SCORE, outputShape: [batch, t] }, [clsRows, norms], 'float32', [
    heads,
    n,
    Number(epsTerms),
    floatBits(eps / n),
    floatBits(eps),
  ]) as tf.Tensor2D;
  const rank = runGLProgram({ ...RANK, outputShape: [batch, t] }, [score], 'int32', [t]) as tf.Tensor2D;
  const sorted = runGLProgram({ ...SORTED, outputShape: [batch, 2 * t] }, [score, rank], 'float32', [t]) as tf.Tensor2D;
  const lin = tf.tensor1d(scaledLinspace(m));
  const cdf = runGLProgram({ ...CDF, outputShape: [batch, t + m] }, [sorted, lin], 'float32', [t, m]) as tf.Tensor2D;
  lin.dispose();
  const picks = runGLProgram({ ...PICK, outputShape: [batch, m] }, [cdf], 'int32', [t, shift, window.size]) as tf.Tensor2D;
  const survive = runGLProgram({ ...SURVIVE, outputShape: [batch, window.size] }, [picks], 'float32', [m, shift]) as tf.Tensor2D;
  return { window, score, rank, sorted, cdf, picks, survive };
}

export function atsGLTensors(decision: AtsGLDecision): tf.Tensor[] {
  const { score, rank, sorted, cdf, picks, survive } = decision;
  return [score, rank, sorted, cdf, picks, survive];
}

/** int32 [1]: the largest kept count (CLS included) over the images. */
export function atsCountGL({ survive, window }: AtsGLDecision): tf.Tensor1D {
  return runGLProgram({ ...COUNT, outputShape: [1] }, [survive], 'int32', [survive.shape[0], window.size, window.slots]) as tf.Tensor1D;
}

/** int32 [B, N]: the slot of every input token (−1 = not kept). The assignment does not depend on the count: slots are packed. */
export function atsTargetGL({ rank, survive, window }: AtsGLDecision, n: number): tf.Tensor2D {
  invariant(n === window.t + 1, `ATS decided for ${window.t + 1} tokens, not ${n}`);
  const batch = rank.shape[0];
  return runGLProgram({ ...TARGET, outputShape: [batch, n] }, [rank, survive], 'int32', [window.shift, window.size, window.slots]) as tf.Tensor2D;
}

/** target [B, N] -> float32 [B, N]: 1 for a kept token, 0 for a dropped one. */
export function atsCoeffGL(target: tf.Tensor2D): tf.Tensor2D {
  return runGLProgram({ ...COEFF, outputShape: target.shape }, [target], 'float32') as tf.Tensor2D;
}

/** [B, T] the normalised significance (evidence). */
export function atsSignificanceGL({ score, window }: AtsGLDecision): tf.Tensor2D {
  return runGLProgram({ ...SIGNIFICANCE, outputShape: score.shape }, [score], 'float32', [window.t]) as tf.Tensor2D;
}

/** int32 [B, M]: get_unique_indices' result (evidence). */
export function atsUniqueGL({ survive, window }: AtsGLDecision): tf.Tensor2D {
  return runGLProgram({ ...UNIQUE, outputShape: [survive.shape[0], window.m] }, [survive], 'int32', [window.t, window.shift, window.size]) as tf.Tensor2D;
}

/** int32 [B, 1 + slots]: the input token of every output slot, CLS first, −1 empty (evidence). */
export function atsKeptGL({ survive, sorted, window }: AtsGLDecision): tf.Tensor2D {
  return runGLProgram({ ...KEPT, outputShape: [survive.shape[0], 1 + window.slots] }, [survive, sorted], 'int32', [
    window.t,
    window.shift,
    window.size,
  ]) as tf.Tensor2D;
}
