/**
 * The shared apply step and the weighted-mean coefficients as WebGL programs, the GLSL twins of
 * ../webgpu/apply-assignment.ts:
 *
 * - `apply_*_gl`: out[b, t, :] = Σ over inputs n with target n = t of coeff[n] · values[b, n, :],
 *   added in input order. One program per tensor instead of building the [nOut, N] matrix R (range,
 *   equal, where, ones, zeros), scaling and a matmul on the generic path; each output element scans
 *   the N targets of its image, the work of the matmul with R without materialising R.
 * - `groupmean_gl`: coeff[n] = w[n] / Σ w over the inputs sharing n's target (input order); 0 for a
 *   dropped input (target −1).
 *
 * Targets are int32, stored as floats by TF.js's WebGL backend: compared after rounding.
 */
import type * as tf from '@tensorflow/tfjs';
import { runGLProgram } from './program';

export const APPLY_GL_FAMILY = 'apply-webgl';

function applySpec(weighted: boolean) {
  return {
    key: `apply_${weighted ? 'weighted' : 'summed'}_gl`,
    family: APPLY_GL_FAMILY,
    inputs: weighted ? ['rows', 'toRow', 'rowCoeff'] : ['rows', 'toRow'],
    ints: ['nIn'],
    code: `
      void main() {
        ivec3 c = getOutputCoords();
        float acc = 0.0;
        for (int n = 0; n < nIn; n++) {
          if (round(getToRow(c.x, n)) == c.y) {
            acc += ${weighted ? 'getRowCoeff(c.x, n) * ' : ''}getRows(c.x, n, c.z);
          }
        }
        setOutput(acc);
      }`,
  };
}
const WEIGHTED = applySpec(true);
const SUMMED = applySpec(false);

const GROUP_MEAN = {
  key: 'groupmean_gl',
  family: APPLY_GL_FAMILY,
  inputs: ['toRow', 'weight'],
  ints: ['nIn'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int t = round(getToRow(c.x, c.y));
      if (t < 0) { setOutput(0.0); return; }
      float sum = 0.0;
      for (int m = 0; m < nIn; m++) {
        if (round(getToRow(c.x, m)) == t) { sum += getWeight(c.x, m); }
      }
      setOutput(getWeight(c.x, c.y) / sum);
    }`,
};

/** values [B, N, C] through target [B, N] (−1 = dropped) into [B, nOut, C], scaled by coeff [B, N] when given. */
export function applyAssignmentGL(values: tf.Tensor3D, target: tf.Tensor2D, coeff: tf.Tensor2D | null, nOut: number): tf.Tensor3D {
  const [batch, nIn, channels] = values.shape;
  const spec = { ...(coeff ? WEIGHTED : SUMMED), outputShape: [batch, nOut, channels] };
  return runGLProgram(spec, coeff ? [values, target, coeff] : [values, target], 'float32', [nIn]) as tf.Tensor3D;
}

/** The weighted-mean coefficients of target [B, N] and weights [B, N]. */
export function groupMeanGL(target: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D {
  return runGLProgram({ ...GROUP_MEAN, outputShape: target.shape }, [target, weights], 'float32', [target.shape[1]]) as tf.Tensor2D;
}
