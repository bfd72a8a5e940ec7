/**
 * LayerNorm over the last axis of [B, N, C] as two WebGL programs whose shaders do not depend on
 * the token count (ops.ts `layerNorm`'s formula: biased variance, eps inside the root). TF.js's own
 * mean reductions compile one shader per input shape, and with token reduction every block of every
 * plan has its own count (see ./family.ts for why that matters).
 *
 * `layer_norm_stats_gl` reduces each token's C channels to (mean, 1/√(var + eps)); `layer_norm_gl`
 * then normalises one element per fragment.
 */
import type * as tf from '@tensorflow/tfjs';
import { runGLProgram } from '../../tokens/webgl/program';

export const BLOCK_GL_FAMILY = 'block-webgl';

const STATS = {
  key: 'layer_norm_stats_gl',
  family: BLOCK_GL_FAMILY,
  inputs: ['x'],
  ints: ['channels'],
  floats: ['eps'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      float sum = 0.0;
      for (int k = 0; k < channels; k++) sum += getX(c.x, c.y, k);
      float mean = sum / float(channels);
      if (c.z == 0) { setOutput(mean); return; }
      float squares = 0.0;
      for (int k = 0; k < channels; k++) { float d = getX(c.x, c.y, k) - mean; squares += d * d; }
      setOutput(inversesqrt(squares / float(channels) + eps));
    }`,
};

const NORMALISE = {
  key: 'layer_norm_gl',
  family: BLOCK_GL_FAMILY,
  inputs: ['x', 'stats', 'gamma', 'beta'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      float centred = getX(c.x, c.y, c.z) - getStats(c.x, c.y, 0);
      setOutput(centred * getStats(c.x, c.y, 1) * getGamma(c.z) + getBeta(c.z));
    }`,
};

/** LN(x) [B, N, C] with per-channel gamma and beta [C]. */
export function layerNormGL(x: tf.Tensor3D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor3D {
  const [batch, n, channels] = x.shape;
  const stats = runGLProgram({ ...STATS, outputShape: [batch, n, 2] }, [x], 'float32', [channels], [eps]);
  try {
    return runGLProgram({ ...NORMALISE, outputShape: [batch, n, channels] }, [x, stats, gamma, beta], 'float32') as tf.Tensor3D;
  } finally {
    stats.dispose();
  }
}
