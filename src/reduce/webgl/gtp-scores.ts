/**
 * GTP's token scores (MixedAttnMax, docs/METHODS.md#gtp) as one WebGL program:
 * score_j = max_h A[h, j, j] · max_h Σ_i A[h, i, j] for every patch column j of the attention
 * [B, H, N, N], where the generic path gathers the diagonal, sums a middle axis (a transpose and a
 * reduction) and takes two maxima, each compiled once per token count. Its shader serves every
 * count (src/model/webgl/family.ts says why that matters).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnWebGL, sameValues } from '../../tokens/webgl/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { runGLProgram } from '../../tokens/webgl/program';
import { mixedAttnMax } from '../gtp-scores';

export const GTP_GL_FAMILY = 'gtp-webgl';

const SCORES = {
  key: 'gtp_scores_gl',
  family: GTP_GL_FAMILY,
  inputs: ['probs'],
  ints: ['heads', 'tokens', 'offset'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int j = c.y + offset;
      float diagonal = getProbs(c.x, 0, j, j);
      float column = 0.0;
      for (int h = 0; h < heads; h++) {
        diagonal = max(diagonal, getProbs(c.x, h, j, j));
        float sum = 0.0;
        for (int i = 0; i < tokens; i++) sum += getProbs(c.x, h, i, j);
        column = h == 0 ? sum : max(column, sum);
      }
      setOutput(diagonal * column);
    }`,
};

/** MixedAttnMax [B, T] of the patch columns of probs [B, H, N, N] (T = N − 1 with a class token). */
export function mixedAttnMaxGL(probs: tf.Tensor4D, classToken = true): tf.Tensor2D {
  const [batch, heads, n] = probs.shape;
  const offset = classToken ? 1 : 0;
  return runGLProgram({ ...SCORES, outputShape: [batch, n - offset] }, [probs], 'float32', [heads, n, offset]) as tf.Tensor2D;
}

/** Against the generic ops on two images of 3 heads over 6 tokens, with and without a class token. */
async function checkScores(): Promise<string | null> {
  const probs = tf.tidy(
    () =>
      tf.softmax(
        tf.tensor4d(
          Float32Array.from({ length: 2 * 3 * 36 }, (_, i) => Math.sin(i * 1.9) * 3),
          [2, 3, 6, 6],
        ),
      ) as tf.Tensor4D,
  );
  try {
    for (const classToken of [true, false]) {
      const problem = await checkOnWebGL(
        () => mixedAttnMaxGL(probs, classToken),
        () => mixedAttnMax(probs, classToken),
        (a, b) => sameValues(a, b, 1e-6),
        (t) => t.dispose(),
      );
      if (problem) return problem;
    }
    return null;
  } finally {
    probs.dispose();
  }
}

registerFusedFamily(GTP_GL_FAMILY, 'GTP', checkScores, 'webgl');
