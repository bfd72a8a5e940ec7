/**
 * The L2 norm of every token's row, [B, N, C] -> [B, N, 1], as one WebGL program whose shader
 * serves every token count (TF.js's sum reduction compiles one per shape; see
 * src/model/webgl/family.ts for why the count of distinct shaders matters). Used by the cosine
 * similarities of ToMe, PiToMe, DiffRate, GTP and ATC through ../row-norms.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnWebGL, sameValues } from './check';
import { registerFusedFamily } from '../webgpu/kernel-status';
import { runGLProgram } from './program';

export const ROW_NORMS_GL_FAMILY = 'row-norms-webgl';

/**
 * The program: output [B, N], each token's sum of squares over its C channels in channel order,
 * then sqrt. Also ToMe's `tome_norms_gl` (src/reduce/webgl/tome-best-match.ts), under its own key
 * and family.
 */
export const rowNormsProgram = (key: string, family: string) => ({
  key,
  family,
  inputs: ['x'],
  ints: ['channels'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      float sum = 0.0;
      for (int k = 0; k < channels; k++) { float v = getX(c.x, c.y, k); sum += v * v; }
      setOutput(sqrt(sum));
    }`,
});

const NORMS = rowNormsProgram('row_norms_gl', ROW_NORMS_GL_FAMILY);

/** [B, N, C] -> [B, N, 1]. */
export function rowNormsGL(x: tf.Tensor3D): tf.Tensor3D {
  const [batch, n, channels] = x.shape;
  return tf.tidy(() => tf.reshape(runGLProgram({ ...NORMS, outputShape: [batch, n] }, [x], 'float32', [channels]), [batch, n, 1]) as tf.Tensor3D);
}

/** Against TF.js's norm on 2 × 5 rows of 6, one of them zero. */
async function checkRowNorms(): Promise<string | null> {
  const values = Float32Array.from({ length: 2 * 5 * 6 }, (_, i) => Math.sin(i * 0.7) * 3);
  values.fill(0, 6, 12);
  const x = tf.tensor3d(values, [2, 5, 6]);
  try {
    return await checkOnWebGL(
      () => rowNormsGL(x),
      () => tf.norm(x, 'euclidean', 2, true) as tf.Tensor3D,
      (a, b) => sameValues(a, b, 1e-5),
      (t) => t.dispose(),
    );
  } finally {
    x.dispose();
  }
}

registerFusedFamily(ROW_NORMS_GL_FAMILY, 'row norms', checkRowNorms, 'webgl');
