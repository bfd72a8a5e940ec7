/**
 * MCTF's per-token criteria as two WebGL programs, the GLSL twin of ../webgpu/mctf-criteria.ts
 * (which does both in one workgroup; a fragment shader writes one element, and the criteria's
 * maxima need every token's value first):
 *
 * - `mctf_token_gl` [B, N, 2]: the attention each token receives (mean over heads and queries) and
 *   its L2 norm for the cosines.
 * - `mctf_criteria_gl` [B, N, 4]: received | informativeness | size criterion | norm, the criteria
 *   being the inverse scaled to a maximum of 1 and raised to 1/τ (1 where a criterion is off).
 *
 * Replaces the mean over two axes, the squares, sums and roots, the reciprocals, maxima, divisions
 * and powers of the generic path (src/reduce/mctf.ts `matchScores`). Exponents and switches are
 * uniforms, so no new shader compiles for another τ or token count.
 */
import type * as tf from '@tensorflow/tfjs';
import { runGLProgram } from '../../tokens/webgl/program';
import type { MctfCriteriaOptions } from '../../reduce/shared/mctf-programs';

export const MCTF_GL_FAMILY = 'mctf-webgl';

const TOKEN = {
  key: 'mctf_token_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['x', 'probs'],
  ints: ['n', 'heads', 'channels'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int b = c.x;
      int k = c.y;
      if (c.z == 0) {
        float sum = 0.0;
        for (int h = 0; h < heads; h++) {
          for (int q = 0; q < n; q++) { sum += getProbs(b, h, q, k); }
        }
        setOutput(sum / float(heads * n));
      } else {
        float s = 0.0;
        for (int ch = 0; ch < channels; ch++) { float v = getX(b, k, ch); s += v * v; }
        setOutput(sqrt(s));
      }
    }`,
};

const CRITERIA = {
  key: 'mctf_criteria_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['token', 'size'],
  ints: ['n', 'useInfo', 'powInfo', 'useSize', 'powSize'],
  floats: ['eInfo', 'eSize'],
  code: `
    // the value whose inverse the criterion scales: received attention (info) or size
    float base(int b, int k, bool info) { return info ? getToken(b, k, 0) : getSize(b, k, 0); }

    void main() {
      ivec3 c = getOutputCoords();
      int b = c.x;
      int k = c.y;
      if (c.z == 0 || c.z == 3) { setOutput(getToken(b, k, c.z == 0 ? 0 : 1)); return; }
      bool info = c.z == 1;
      if ((info ? useInfo : useSize) == 0) { setOutput(1.0); return; }
      float maxInv = uintBitsToFloat(0xff800000u); // -infinity
      for (int m = 0; m < n; m++) { maxInv = max(maxInv, 1.0 / base(b, m, info)); }
      float v = (1.0 / base(b, k, info)) / maxInv;
      if ((info ? powInfo : powSize) == 1) { v = pow(v, info ? eInfo : eSize); }
      setOutput(v);
    }`,
};

/** x [B, N, D], probs [B, H, N, N], size [B, N, 1] -> [B, N, 4]. */
export function mctfCriteriaGL(x: tf.Tensor3D, probs: tf.Tensor4D, size: tf.Tensor3D, { infoExponent, sizeExponent }: MctfCriteriaOptions): tf.Tensor3D {
  const [batch, n, channels] = x.shape;
  const token = runGLProgram({ ...TOKEN, outputShape: [batch, n, 2] }, [x, probs], 'float32', [n, probs.shape[1], channels]);
  const ints = [
    n,
    Number(infoExponent !== null),
    Number(infoExponent !== null && infoExponent !== 1),
    Number(sizeExponent !== null),
    Number(sizeExponent !== null && sizeExponent !== 1),
  ];
  const criteria = runGLProgram({ ...CRITERIA, outputShape: [batch, n, 4] }, [token, size], 'float32', ints, [infoExponent ?? 1, sizeExponent ?? 1]);
  token.dispose();
  return criteria as tf.Tensor3D;
}
