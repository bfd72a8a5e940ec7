/**
 * ToMe's similarity step as one WebGL program, the GLSL twin of ../webgpu/tome-best-match.ts: for
 * each A token (even positions) its best cosine against the B tokens (odd positions) and which B
 * token that is. Replaces l2-normalise (square, sum, sqrt, div), the A/B gathers, the A·Bᵀ matmul,
 * the −∞ protection adds, max and argMax.
 *
 * Output [B, ⌈N/2⌉, 2]: (best score, partner index as a float; exact below 2^24); each output
 * element runs the scan and keeps its half. CLS's row is −∞ with partner 0 (never a source); with a
 * distillation token B column 0 is never a partner. Ties: the first (lowest) B index, as tf.argMax.
 * Every pair's cosine is computed by the same operations in the same order, so identical tokens
 * give bit-identical scores and the tie rule applies.
 */
import * as tf from '@tensorflow/tfjs';
import { l2Normalize, rowDots, splitAlternate } from '../shared/matching';
import { runGLProgram } from '../../tokens/webgl/program';

export const TOME_GL_FAMILY = 'tome-webgl';

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
  const [batch, n] = metric.shape;
  const nA = Math.ceil(n / 2);
  const scores = tf.tidy(() => rowDots(...splitAlternate(l2Normalize(metric)))); // [B, |A|, |B|], the generic path's ops
  const best = runGLProgram({ ...BEST_OF_ROWS, outputShape: [batch, nA, 2] }, [scores], 'float32', [
    n - nA,
    Number(classToken),
    Number(distillToken),
  ]) as tf.Tensor3D;
  scores.dispose();
  return best;
}
