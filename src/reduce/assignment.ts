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
    const [batch, n] = target.shape;
    // Built by comparison rather than tf.oneHot + cast: the wasm backend's OneHot returns zeros when
    // asked for float32, and WebGPU's int32 -> float32 cast only relabels the buffer, which its
    // Transpose and Cumsum shaders then fail to compile (tfjs 4.22). Multiplying makes a real float.
    const rows = tf.reshape(tf.range(0, nOut, 1, 'int32'), [1, nOut, 1]);
    const hits = tf.equal(rows, tf.expandDims(target, 1)); // [B, nOut, N]; -1 matches no row
    const weights = tf.expandDims(coeff ?? tf.ones([batch, n]), 1); // [B, 1, N]
    return tf.where(hits, tf.broadcastTo(weights, [batch, nOut, n]), tf.zeros([batch, nOut, n])) as tf.Tensor3D;
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
    const matrix = assignmentMatrix(target, null, nOut); // [B, nOut, N]
    const groupSums = applyMatrix(matrix, tf.expandDims(weights, 2) as tf.Tensor3D); // [B, nOut, 1]
    // Back to the inputs with Rᵀ (a matmul, not a batched gather: the wasm backend's gather with
    // batchDims returns wrong rows for images after the first, tfjs 4.22).
    const perInput = tf.squeeze(tf.matMul(matrix, groupSums, true, false), [2]) as tf.Tensor2D; // [B, N]
    const kept = tf.greaterEqual(target, tf.scalar(0, 'int32'));
    return tf.where(kept, tf.div(weights, tf.where(kept, perInput, tf.onesLike(perInput))), tf.zerosLike(weights)) as tf.Tensor2D;
  });
}

/** Assignment that keeps `rows` ([B, K] int32 indices into N, in output order) with coefficient 1. */
export function selectionAssignment(rows: tf.Tensor2D, n: number): Assignment {
  const nOut = rows.shape[1];
  const [target, coeff] = tf.tidy(() => {
    // target[b, rows[b, k]] = k, else -1. Summed in float32: WebGPU (tfjs 4.22) fails to compile
    // the transpose it inserts for an int32 reduction over a middle axis.
    const slotPlusOne = tf.range(1, nOut + 1, 1, 'float32').reshape([1, nOut, 1]);
    const hits = tf.cast(tf.oneHot(rows, n), 'float32') as tf.Tensor3D; // [B, K, N]
    const target = tf.cast(tf.sub(tf.sum(tf.mul(hits, slotPlusOne), 1), 1), 'int32') as tf.Tensor2D; // [B, N]
    const coeff = tf.where(tf.greaterEqual(target, tf.scalar(0, 'int32')), tf.ones(target.shape), tf.zeros(target.shape)) as tf.Tensor2D;
    return [target, coeff];
  });
  return { target, coeff, nOut };
}

export function disposeAssignment(assignment: Assignment): void {
  tf.dispose([assignment.target, assignment.coeff]);
}
