/**
 * The device check of the shared apply step (apply-assignment.ts): a merge-and-drop assignment of
 * 2 images applied by the fused programs and by the generic matrix path must give the same rows
 * (1e-6) and the same weighted-mean coefficients; the mean over heads of a [2, 3, 7, 5] key tensor
 * must match tf.mean, and the value norms of the same tensor the generic ones. Registered on load; `useBackend('webgpu')` runs it.
 */
import * as tf from '@tensorflow/tfjs';
import { applyAndSum, weightedMeanCoeffs } from '../assignment';
import { APPLY_FAMILY, applyAssignmentProgram, groupMeanProgram, meanOverHeadsProgram, valueNormsProgram } from './apply-assignment';
import { checkOnDevice, sameValues } from './check';
import { registerFusedFamily } from './kernel-status';

async function checkApply(): Promise<string | null> {
  const n = 7;
  const nOut = 4;
  const target = tf.tensor2d([0, 1, 1, -1, 2, 3, 1, 3, 0, 2, 2, 1, -1, 0], [2, n], 'int32');
  const weights = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 2, 2, 1, 3, 1, 5, 4], [2, n]);
  const values = tf.tensor3d(
    Float32Array.from({ length: 2 * n * 5 }, (_, i) => ((i * 37) % 11) - 5.5),
    [2, n, 5],
  );
  const keys = tf.tensor4d(
    Float32Array.from({ length: 2 * 3 * n * 5 }, (_, i) => Math.sin(i * 0.7)),
    [2, 3, n, 5],
  );
  try {
    return await checkOnDevice(
      () =>
        tf.tidy(() => {
          const coeff = groupMeanProgram(target, weights);
          return [
            coeff,
            applyAssignmentProgram(values, target, coeff, nOut),
            applyAssignmentProgram(values, target, null, nOut),
            meanOverHeadsProgram(keys),
            valueNormsProgram(keys),
          ];
        }),
      () =>
        tf.tidy(() => {
          const coeff = weightedMeanCoeffs(target, weights, nOut);
          const { applied, sums } = applyAndSum({ target, coeff, nOut }, [values], [values]);
          const mergedHeads = tf.reshape(tf.transpose(keys, [0, 2, 1, 3]), [2, n, 3 * 5]) as tf.Tensor3D;
          return [coeff, applied[0], sums[0], tf.mean(keys, 1), tf.sqrt(tf.sum(tf.square(mergedHeads), 2))];
        }),
      async (fused, generic) => {
        for (const [i, what] of ['coefficients', 'weighted rows', 'summed rows', 'mean over heads', 'value norms'].entries()) {
          const problem = await sameValues(fused[i], generic[i], 1e-6);
          if (problem) return `${what}: ${problem}`;
        }
        return null;
      },
      (tensors) => tf.dispose(tensors),
    );
  } finally {
    tf.dispose([target, weights, values, keys]);
  }
}

registerFusedFamily(APPLY_FAMILY, 'merge-apply', checkApply);
