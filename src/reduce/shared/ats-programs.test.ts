import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useWasmBackend } from '../../../tests/helpers/tf';
import { selectionAssignment } from '../../tokens/assignment';
import { sameValues } from '../../tokens/webgpu/check';
import { atsEpsTerms, atsInverseTransformSample, atsSignificanceOfNorms, type AtsSample } from '../ats';
import type { CheckOn } from '../../tokens/device-check';
import { checkAtsPrograms, type AtsPrograms } from './ats-programs';

useWasmBackend();

type Decision = { significance: tf.Tensor2D; sample: AtsSample };

/** t with the values a and b exchanged. */
function swap(t: tf.Tensor2D, a: number, b: number): tf.Tensor2D {
  return tf.tidy(() => tf.where(tf.equal(t, a), tf.fill(t.shape, b, 'int32'), tf.where(tf.equal(t, b), tf.fill(t.shape, a, 'int32'), t)) as tf.Tensor2D);
}

/** The generic path dressed as a backend's programs, with one step optionally broken. */
function genericPrograms(broken: 'none' | 'count' | 'ties' | 'target'): AtsPrograms<Decision> {
  return {
    decide(clsRows, norms, sampling, epsTerms) {
      const significance = tf.tidy(() => atsSignificanceOfNorms(epsTerms ? atsEpsTerms(clsRows) : clsRows, norms));
      return { significance, sample: atsInverseTransformSample(significance, sampling) };
    },
    tensors: ({ significance, sample }) => [significance, ...Object.values(sample)],
    count: ({ sample }) =>
      tf.tidy(() => tf.add(tf.max(tf.sum(tf.cast(tf.greaterEqual(sample.keptTokens, 0), 'int32'), 1)), broken === 'count' ? 1 : 0) as tf.Scalar),
    assignment({ sample }, n, nOut) {
      const { target, coeff } = selectionAssignment(sample.keptTokens, n);
      if (broken !== 'target') return { target, coeff, nOut };
      // the first two slots after CLS swapped
      const swapped = swap(target, 1, 2);
      target.dispose();
      return { target: swapped, coeff, nOut };
    },
    fields({ significance, sample }) {
      const copy = tf.tidy(() => {
        const fields = Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, tf.clone(v)])) as unknown as AtsSample;
        // the tied tokens of image 0 (3 and 7, indices 2 and 6 after CLS) in the other order
        if (broken === 'ties') fields.sortedIndices = swap(sample.sortedIndices, 2, 6);
        return fields as unknown as tf.TensorContainer;
      }) as unknown as AtsSample;
      return { significance: tf.clone(significance), sample: copy };
    },
  };
}

const runBoth: CheckOn = async (fused, generic, compare, dispose) => {
  const a = fused();
  const b = generic();
  try {
    return await compare(a, b);
  } finally {
    dispose(a);
    dispose(b);
  }
};

// The device check every backend's ATS programs pass before they run (WGSL and GLSL, run in
// Chromium by tests/e2e/webgpu-kernels.test.ts and webgl-kernels.test.ts): here on wasm, against
// the generic path and against deliberately broken copies of it, so the check is seen to catch them.
describe('ATS programs device check', () => {
  it('passes the generic path itself and catches a wrong count, tie order or selection', async () => {
    const tensors = tf.memory().numTensors;
    const check = (broken: Parameters<typeof genericPrograms>[0]) => checkAtsPrograms(genericPrograms(broken), runBoth, sameValues);
    expect(await check('none')).toBeNull();
    expect(await check('count')).toMatch(/^11 draws: kept count (\d+) instead of (\d+)$/);
    expect(await check('ties')).toMatch(/^11 draws: sortedIndices: /);
    expect(await check('target')).toMatch(/^11 draws: target \d+ is \d+ instead of \d+$/);
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
