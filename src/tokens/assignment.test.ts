import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { applyAssignment, selectionAssignment, sumInto, weightedMeanCoeffs, disposeAssignment } from './assignment';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';

useWasmBackend();

describe('assignment primitive', () => {
  it('applyAssignment merges rows by weighted mean and drops -1 targets (hand-computed)', async () => {
    // tokens: c=[1,0], a=[0,2], b=[4,4], d=[9,9]; a and b merge with sizes 1 and 3, d dropped
    const x = tf.tensor3d([
      [
        [1, 0],
        [0, 2],
        [4, 4],
        [9, 9],
      ],
    ]);
    const size = tf.tensor2d([[1, 1, 3, 1]]);
    const target = tf.tensor2d([[0, 1, 1, -1]], undefined, 'int32');
    const coeff = weightedMeanCoeffs(target, size, 2);
    const a = { target, coeff, nOut: 2 };
    const out = await expectNoLeak(() => applyAssignment(a, x), { returned: 1 });
    expect(out.arraySync()).toEqual([
      [
        [1, 0],
        [3, 3.5],
      ],
    ]);
    const sizes = sumInto(a, tf.expandDims(size, 2) as tf.Tensor3D);
    expect(sizes.arraySync()).toEqual([[[1], [4]]]);
    tf.dispose([x, size, out, sizes]);
    disposeAssignment(a);
  });

  it('weightedMeanCoeffs handles every image of a batch (hand-computed)', () => {
    const target = tf.tensor2d(
      [
        [0, 1, 1],
        [0, 0, 1],
      ],
      undefined,
      'int32',
    );
    const weights = tf.tensor2d([
      [1, 1, 3],
      [1, 3, 1],
    ]);
    const coeff = weightedMeanCoeffs(target, weights, 2);
    expect(coeff.arraySync()).toEqual([
      [1, 0.25, 0.75],
      [0.25, 0.75, 1],
    ]);
    tf.dispose([target, weights, coeff]);
  });

  it('selectionAssignment keeps rows in the given order', () => {
    const rows = tf.tensor2d([[0, 3, 1]], undefined, 'int32');
    const a = selectionAssignment(rows, 4);
    expect(a.target.arraySync()).toEqual([[0, 2, -1, 1]]);
    const x = tf.tensor3d([[[0], [1], [2], [3]]]);
    expect(applyAssignment(a, x).arraySync()).toEqual([[[0], [3], [1]]]);
    tf.dispose([rows, x]);
    disposeAssignment(a);
  });
});
