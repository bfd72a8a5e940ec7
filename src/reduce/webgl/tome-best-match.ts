/**
 * ToMe's similarity step on WebGL, the GLSL twin of ../webgpu/tome-best-match.ts: for each A token
 * (even positions) its best cosine against the B tokens (odd positions) and which B token that is.
 * The cosines are the generic path's own ops (l2-normalise, the A/B gathers, A·Bᵀ on TF.js's packed
 * matmul), so scores are bit for bit those of the reference; one program of ours then replaces the
 * −∞ protection adds, max and argMax.
 *
 * Why not all in one program (as before): a fragment shader computes one output element, so each
 * of the |A| × 2 outputs recomputed its row's |B| cosines with unpacked reads, ~6× the matmul's
 * work: ~30 ms per DeiT-T block on SwiftShader against ~10 ms this way (tests/bench/webgl-tome-profile.ts).
 *
 * Output [B, ⌈N/2⌉, 2]: (best score, partner index as a float; exact below 2^24); each output
 * element runs the scan and keeps its half. CLS's row is −∞ with partner 0 (never a source); with a
 * distillation token B column 0 is never a partner. Ties: the first (lowest) B index, as tf.argMax.
 */
import * as tf from '@tensorflow/tfjs';
import { runGLProgram } from '../../tokens/webgl/program';
import { rowNormsProgram } from '../../tokens/webgl/row-norms';

export const TOME_GL_FAMILY = 'tome-webgl';

/** Each token's L2 norm, [B, N]: the shared row-norm program under ToMe's key and family. */
const NORMS = rowNormsProgram('tome_norms_gl', TOME_GL_FAMILY);

/** The normalised tokens split by parity, [B, N, C]: A (even positions) in rows [0, |A|), then B. */
const SPLIT_NORMALISED = {
  key: 'tome_split_gl',
  family: TOME_GL_FAMILY,
  inputs: ['metric', 'norms'],
  ints: ['nA'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int p = c.y < nA ? 2 * c.y : 2 * (c.y - nA) + 1;
      setOutput(getMetric(c.x, p, c.z) / getNorms(c.x, p));
    }`,
};

const BEST_OF_ROWS = {
  key: 'tome_bestmatch_gl',
  family: TOME_GL_FAMILY,
  inputs: ['scores'],
  ints: ['nB', 'skipRow0', 'skipCol0'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int b = c.x;
      int i = c.y;
      float best = uintBitsToFloat(0xff800000u); // -infinity
      int partner = 0;
      if (!(skipRow0 == 1 && i == 0)) {
        for (int j = skipCol0; j < nB; j++) {
          float s = getScores(b, i, j);
          if (s > best) { best = s; partner = j; }
        }
      }
      setOutput(c.z == 0 ? best : float(partner));
    }`,
};

/** metric [B, N, C] -> [B, ⌈N/2⌉, 2] (best cosine, partner). */
export function tomeBestMatchGL(metric: tf.Tensor3D, classToken: boolean, distillToken: boolean): tf.Tensor3D {
  const [batch, n, channels] = metric.shape;
  const nA = Math.ceil(n / 2);
  const scores = tf.tidy(() => {
    const norms = runGLProgram({ ...NORMS, outputShape: [batch, n] }, [metric], 'float32', [channels]);
    const split = runGLProgram({ ...SPLIT_NORMALISED, outputShape: [batch, n, channels] }, [metric, norms], 'float32', [nA]);
    const a = tf.slice(split, [0, 0, 0], [batch, nA, channels]);
    const b = tf.slice(split, [0, nA, 0], [batch, n - nA, channels]);
    return tf.matMul(a, b, false, true); // [B, |A|, |B|] on TF.js's packed matmul
  });
  const best = runGLProgram({ ...BEST_OF_ROWS, outputShape: [batch, nA, 2] }, [scores], 'float32', [
    n - nA,
    Number(classToken),
    Number(distillToken),
  ]) as tf.Tensor3D;
  scores.dispose();
  return best;
}
