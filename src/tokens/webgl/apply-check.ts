/**
 * The device check of the shared apply step on WebGL (apply-assignment.ts), registered on load;
 * `useBackend('webgl')` runs it. Apart from the programs because it imports the generic path
 * (../assignment.ts), which imports the programs.
 */
import * as tf from '@tensorflow/tfjs';
import { applyAndSum, weightedMeanCoeffs } from '../assignment';
import { registerFusedFamily } from '../webgpu/kernel-status';
import { APPLY_GL_FAMILY, applyAssignmentGL, groupMeanGL } from './apply-assignment';
import { checkOnWebGL, sameValues } from './check';

/**
 * The device check: a merge-and-drop assignment of 2 images applied by the programs and by the
 * generic matrix path must give the same rows and coefficients (1e-6).
 */
async function checkApply(): Promise<string | null> {
  const n = 7;
  const nOut = 4;
  const target = tf.tensor2d([0, 1, 1, -1, 2, 3, 1, 3, 0, 2, 2, 1, -1, 0], [2, n], 'int32');
  const weights = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 2, 2, 1, 3, 1, 5, 4], [2, n]);
  const values = tf.tensor3d(
    Float32Array.from({ length: 2 * n * 5 }, (_, i) => ((i * 37) % 11) - 5.5),
    [2, n, 5],
  );
  try {
    return await checkOnWebGL(
      () =>
        tf.tidy(() => {
          const coeff = groupMeanGL(target, weights);
          return [coeff, applyAssignmentGL(values, target, coeff, nOut), applyAssignmentGL(values, target, null, nOut)];
        }),
      () =>
        tf.tidy(() => {
          const coeff = weightedMeanCoeffs(target, weights, nOut);
          const { applied, sums } = applyAndSum({ target, coeff, nOut }, [values], [values]);
          return [coeff, applied[0], sums[0]];
        }),
      async (fused, generic) => {
        for (const [i, what] of ['coefficients', 'weighted rows', 'summed rows'].entries()) {
          const problem = await sameValues(fused[i], generic[i], 1e-6);
          if (problem) return `${what}: ${problem}`;
        }
        return null;
      },
      (tensors) => tf.dispose(tensors),
    );
  } finally {
    tf.dispose([target, weights, values]);
  }
}

registerFusedFamily(APPLY_GL_FAMILY, 'merge-apply', checkApply, 'webgl');
