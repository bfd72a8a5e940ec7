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

const NORMS = {
  key: 'row_norms_gl',
  family: ROW_NORMS_GL_FAMILY,
  inputs: ['x'],
  ints: ['channels'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      float sum = 0.0;
      for (int k = 0; k < channels; k++) { float v = getX(c.x, c.y, k); sum += v * v; }
      setOutput(sqrt(sum));
    }`,
};

export function rowNormsGL(x: tf.Tensor3D): tf.Tensor3D {
  const [batch, n, channels] = x.shape;
  return runGLProgram({ ...NORMS, outputShape: [batch, n, 1] }, [x], 'float32', [channels]) as tf.Tensor3D;
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
