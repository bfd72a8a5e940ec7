/**
 * The one primitive every method shares: apply an Assignment to any per-token tensor.
 *
 *   out[b, t, :] = sum over inputs n with target[b, n] = t of coeff[b, n] * values[b, n, :]
 *
 * Features use the method's coefficients; sizes and lineage use coefficient 1 (`sumInto`), so
 * `size' = R · size` and `source' = R · source` with R the 0/1 assignment matrix.
 *
 * It is written as a matmul with a one-hot matrix because the wasm backend has no
 * UnsortedSegmentSum, and a 2-D matmul is its fastest kernel. All functions return new tensors
 * the caller owns; run them inside tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import type { Assignment } from './types';

/** [B, nOut, N] matrix R with R[b, t, n] = coeff[b, n] where target[b, n] = t. */
export function assignmentMatrix(target: tf.Tensor2D, coeff: tf.Tensor2D | null, nOut: number): tf.Tensor3D {
  return tf.tidy(() => {
    // [B, N, nOut]; -1 -> zero row. Cast afterwards: the wasm backend's OneHot returns all zeros
    // when asked for float32 directly (tfjs 4.22).
    const oneHot = tf.cast(tf.oneHot(target, nOut), 'float32') as tf.Tensor3D;
    const weighted = coeff ? tf.mul(oneHot, tf.expandDims(coeff, 2)) : oneHot;
    return tf.transpose(weighted, [0, 2, 1]) as tf.Tensor3D;
  });
}

function applyMatrix(matrix: tf.Tensor3D, values: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    if (matrix.shape[0] === 1) {
      const out = tf.matMul(tf.squeeze(matrix, [0]) as tf.Tensor2D, tf.squeeze(values, [0]) as tf.Tensor2D);
      return tf.expandDims(out, 0) as tf.Tensor3D;
    }
    return tf.matMul(matrix, values);
  });
}

/** [B, N, C] -> [B, nOut, C] with the assignment's coefficients. */
export function applyAssignment(assignment: Assignment, values: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => applyMatrix(assignmentMatrix(assignment.target, assignment.coeff, assignment.nOut), values));
}

/** [B, N, C] -> [B, nOut, C] summing every absorbed row with weight 1 (sizes, lineage). */
export function sumInto(assignment: Assignment, values: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => applyMatrix(assignmentMatrix(assignment.target, null, assignment.nOut), values));
}

/**
 * Coefficients that make each output row the weighted mean of its inputs:
 * coeff[n] = w[n] / sum of w over the inputs sharing n's target. Dropped inputs get 0.
 * `weights` is [B, N].
 */
export function weightedMeanCoeffs(target: tf.Tensor2D, weights: tf.Tensor2D, nOut: number): tf.Tensor2D {
  return tf.tidy(() => {
    const groupSums = tf.squeeze(
      applyMatrix(assignmentMatrix(target, null, nOut), tf.expandDims(weights, 2) as tf.Tensor3D),
      [2],
    ) as tf.Tensor2D; // [B, nOut]
    const safeTarget = tf.maximum(target, tf.scalar(0, 'int32'));
    const perInput = tf.gather(groupSums, safeTarget, 1, 1) as tf.Tensor2D; // [B, N]
    const kept = tf.greaterEqual(target, tf.scalar(0, 'int32'));
    return tf.where(kept, tf.div(weights, perInput), tf.zerosLike(weights)) as tf.Tensor2D;
  });
}

/** Assignment that keeps `rows` ([B, K] int32 indices into N, in output order) with coefficient 1. */
export function selectionAssignment(rows: tf.Tensor2D, n: number): Assignment {
  const nOut = rows.shape[1];
  const [target, coeff] = tf.tidy(() => {
    const batch = rows.shape[0];
    // target[b, rows[b, k]] = k, else -1
    const positions = tf.tile(tf.expandDims(tf.range(0, nOut, 1, 'int32'), 0), [batch, 1]);
    const hits = tf.oneHot(rows, n, 1, 0, 'int32') as tf.Tensor3D; // [B, K, N]
    const slotPlusOne = tf.sum(tf.mul(hits, tf.expandDims(tf.add(positions, tf.scalar(1, 'int32')), 2)), 1) as tf.Tensor2D; // [B, N]
    const target = tf.sub(slotPlusOne, tf.scalar(1, 'int32')) as tf.Tensor2D;
    const coeff = tf.cast(tf.greaterEqual(target, tf.scalar(0, 'int32')), 'float32') as tf.Tensor2D;
    return [target, coeff];
  });
  return { target, coeff, nOut };
}

export function disposeAssignment(assignment: Assignment): void {
  tf.dispose([assignment.target, assignment.coeff]);
}
