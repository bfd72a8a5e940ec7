/**
 * Attention's softmax over the keys of [B, H, N, N] logits (plus, for proportional attention, the
 * log size of each key [B, N]) as two WebGL programs whose shaders do not depend on N, unlike
 * TF.js's max and sum reductions (see ./family.ts). `softmax_stats_gl` finds each row's maximum and
 * Σ exp(x − max); `softmax_gl` writes exp(x − max) / Σ, TF.js's softmax by the same steps.
 */
import type * as tf from '@tensorflow/tfjs';
import { runGLProgram } from '../../tokens/webgl/program';
import { BLOCK_GL_FAMILY } from './layer-norm';

/** `logit(b, h, n, j)`: the logit, plus the key's log size where the program has the input. */
const logit = (withSizes: boolean) =>
  withSizes
    ? 'float logit(int b, int h, int n, int j) { return getLogits(b, h, n, j) + getLogSize(b, j); }'
    : 'float logit(int b, int h, int n, int j) { return getLogits(b, h, n, j); }';

const stats = (withSizes: boolean) => ({
  key: withSizes ? 'softmax_stats_sized_gl' : 'softmax_stats_gl',
  family: BLOCK_GL_FAMILY,
  inputs: withSizes ? ['logits', 'logSize'] : ['logits'],
  ints: ['keys'],
  code: `
    ${logit(withSizes)}
    void main() {
      ivec4 c = getOutputCoords();
      float top = logit(c.x, c.y, c.z, 0);
      for (int j = 1; j < keys; j++) top = max(top, logit(c.x, c.y, c.z, j));
      if (c.w == 0) { setOutput(top); return; }
      float sum = 0.0;
      for (int j = 0; j < keys; j++) sum += exp(logit(c.x, c.y, c.z, j) - top);
      setOutput(sum);
    }`,
});

const normalise = (withSizes: boolean) => ({
  key: withSizes ? 'softmax_sized_gl' : 'softmax_gl',
  family: BLOCK_GL_FAMILY,
  inputs: withSizes ? ['logits', 'stats', 'logSize'] : ['logits', 'stats'],
  code: `
    ${logit(withSizes)}
    void main() {
      ivec4 c = getOutputCoords();
      setOutput(exp(logit(c.x, c.y, c.z, c.w) - getStats(c.x, c.y, c.z, 0)) / getStats(c.x, c.y, c.z, 1));
    }`,
});

/** softmax(logits (+ logSize per key)) over the last axis: [B, H, N, N]. */
export function softmaxGL(logits: tf.Tensor4D, logSize?: tf.Tensor2D): tf.Tensor4D {
  const [batch, heads, rows, keys] = logits.shape;
  const withSizes = logSize !== undefined;
  const sizes = withSizes ? [logSize] : [];
  const rowStats = runGLProgram({ ...stats(withSizes), outputShape: [batch, heads, rows, 2] }, [logits, ...sizes], 'float32', [keys]);
  try {
    return runGLProgram({ ...normalise(withSizes), outputShape: [batch, heads, rows, keys] }, [logits, rowStats, ...sizes], 'float32') as tf.Tensor4D;
  } finally {
    rowStats.dispose();
  }
}
