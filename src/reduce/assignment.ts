/**
 * The one primitive every method shares: apply an Assignment to any per-token tensor.
 *
 *   out[b, t, :] = sum over inputs n with target[b, n] = t of coeff[b, n] * values[b, n, :]
 *
 * Features use the method's coefficients; sizes and lineage use coefficient 1 (`sumInto`), so
 * `size' = R · size` and `source' = R · source` with R the 0/1 assignment matrix.
 *
 * It is written as a matmul with a one-hot matrix R [nOut, N] because the wasm backend has no
 * UnsortedSegmentSum, and a 2-D matmul is its fastest kernel. How R is built depends on the backend
 * (model/ops.ts `kernelsRunOnCpu`): on the GPU backends by one broadcast comparison; on wasm/cpu by
 * float arithmetic, because there a broadcast Equal and a Tile cost 2 ms and 1.3 ms for a
 * [184, 197] matrix while sub/abs/relu build the same matrix in 0.13 ms. Measured on wasm (Node,
 * DeiT-Tiny sizes, nOut = 184, N = 197, D = 192): R·x through this matrix 0.4–0.55 ms; a gather of
 * the same 184 rows 0.9–1.5 ms (the wasm Gather kernel costs ~25 ns per element), so even a pure row
 * selection is a matmul here. All functions return new tensors the caller owns; run them inside
 * tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelsRunOnCpu } from '../model/ops';
import type { Assignment } from './types';

/** [B, nOut, N] matrix R with R[b, t, n] = coeff[b, n] where target[b, n] = t. */
export function assignmentMatrix(target: tf.Tensor2D, coeff: tf.Tensor2D | null, nOut: number): tf.Tensor3D {
  return tf.tidy(() => {
    const hits = matrixRows(target, 0, nOut);
    return coeff ? (tf.mul(hits, tf.expandDims(coeff, 1)) as tf.Tensor3D) : hits;
  });
}

/** Rows from..from+count−1 of the 0/1 assignment matrix: [B, count, N]. */
function matrixRows(target: tf.Tensor2D, from: number, count: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, n] = target.shape;
    if (kernelsRunOnCpu()) {
      // 1 − |t − target| is 1 where they are equal and ≤ 0 elsewhere (integers, exact in float32);
      // -1 matches no row.
      const rows = tf.reshape(tf.range(from, from + count, 1, 'float32'), [1, count, 1]);
      const targets = tf.reshape(tf.cast(target, 'float32'), [batch, 1, n]);
      return tf.relu(tf.sub(1, tf.abs(tf.sub(rows, targets)))) as tf.Tensor3D;
    }
    // Built by comparison rather than tf.oneHot + cast: WebGPU's int32 -> float32 cast only
    // relabels the buffer, which its Transpose and Cumsum shaders then fail to compile (tfjs
    // 4.22). tf.where makes a real float.
    const rows = tf.reshape(tf.range(from, from + count, 1, 'int32'), [1, count, 1]);
    const equal = tf.equal(rows, tf.expandDims(target, 1)); // [B, count, N]; -1 matches no row
    return tf.where(equal, tf.ones([batch, count, n]), tf.zeros([batch, count, n])) as tf.Tensor3D;
  });
}

/** matrix [B, M, K] · values [B, K, C]; one plain 2-D matmul when B = 1 (the wasm fast path). */
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
 * `applyAssignment` on each of `weighted` and `sumInto` on each of `summed`, sharing one 0/1
 * matrix (the engine's step: features and, for ATS, the attention output; then sizes). Each
 * weighted input is scaled row-wise by the coefficients first, R·(c ⊙ x), which is the same sum
 * of the same products as (R ⊙ c)·x.
 */
export function applyAndSum(assignment: Assignment, weighted: tf.Tensor3D[], summed: tf.Tensor3D[]): { applied: tf.Tensor3D[]; sums: tf.Tensor3D[] } {
  return tf.tidy(() => {
    const matrix = assignmentMatrix(assignment.target, null, assignment.nOut);
    const coeff = tf.expandDims(assignment.coeff, 2); // [B, N, 1]
    return {
      applied: weighted.map((v) => applyMatrix(matrix, tf.mul(v, coeff) as tf.Tensor3D)),
      sums: summed.map((v) => applyMatrix(matrix, v)),
    } as unknown as tf.TensorContainer;
  }) as unknown as { applied: tf.Tensor3D[]; sums: tf.Tensor3D[] };
}

/**
 * `applyAndSum` for a selection: every output row below `fusedRow` (all rows when there is none)
 * takes exactly one input row, with coefficient 1 (EViT, top-k, ATS at one image). Those rows are
 * gathered, which gives the same numbers as the matrix product (1·x plus zeros) at a fraction of the
 * cost: on wasm a GatherNd of 192 of 197 rows of width 192 takes 0.17 ms against 0.47–0.7 ms for the
 * one-hot matmul (GatherV2 is slower still, 1.06 ms: it walks element by element). EViT's fused row
 * is one row of the matrix. Which input lands in which row comes from sorting the targets: the
 * selected inputs' targets are 0..nSel−1, each once.
 */
export function applySelection(assignment: Assignment, weighted: tf.Tensor3D[], summed: tf.Tensor3D[]): { applied: tf.Tensor3D[]; sums: tf.Tensor3D[] } {
  return tf.tidy(() => {
    const { target, coeff, nOut, fusedRow } = assignment;
    const [batch, n] = target.shape;
    const nSel = fusedRow ?? nOut;
    // rows[b, t] = the input n with target[b, n] = t, for t < nSel: ascending sort of the targets with
    // every other input pushed past the end.
    const key = tf.where(tf.logicalAnd(tf.greaterEqual(target, 0), tf.less(target, nSel)), target, tf.fill([batch, n], n + nSel, 'int32'));
    const rows = tf.topk(tf.neg(tf.cast(key, 'float32')), nSel).indices; // [B, nSel]
    const flat = tf.add(rows, tf.reshape(tf.range(0, batch * n, n, 'int32'), [batch, 1])); // rows of [B·N, C]
    const pick = (v: tf.Tensor3D) => {
      const c = v.shape[2];
      const flatV = tf.reshape(v, [batch * n, c]);
      const got = kernelsRunOnCpu() ? tf.gatherND(flatV, tf.reshape(flat, [batch * nSel, 1])) : tf.gather(flatV, tf.reshape(flat, [batch * nSel]));
      return tf.reshape(got, [batch, nSel, c]) as tf.Tensor3D;
    };
    const rest = nOut - nSel; // the fused row, through its row of the matrix
    const restMatrix = rest > 0 ? matrixRows(target, nSel, rest) : null;
    const withRest = (selected: tf.Tensor3D, v: tf.Tensor3D, weights: tf.Tensor2D | null) =>
      restMatrix ? (tf.concat([selected, applyMatrix(restMatrix, weights ? (tf.mul(v, tf.expandDims(weights, 2)) as tf.Tensor3D) : v)], 1) as tf.Tensor3D) : selected;
    return {
      applied: weighted.map((v) => withRest(pick(v), v, coeff)),
      sums: summed.map((v) => withRest(pick(v), v, null)),
    } as unknown as tf.TensorContainer;
  }) as unknown as { applied: tf.Tensor3D[]; sums: tf.Tensor3D[] };
}

/**
 * Coefficients that make each output row the weighted mean of its inputs:
 * coeff[n] = w[n] / sum of w over the inputs sharing n's target. Dropped inputs get 0.
 * `weights` is [B, N]. `everyInputKept` (no target is -1, as in ToMe and PiToMe) skips the masking.
 */
export function weightedMeanCoeffs(
  target: tf.Tensor2D,
  weights: tf.Tensor2D,
  nOut: number,
  { everyInputKept = false }: { everyInputKept?: boolean } = {},
): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, n] = target.shape;
    const matrix = assignmentMatrix(target, null, nOut); // [B, nOut, N]
    const groupSums = applyMatrix(matrix, tf.expandDims(weights, 2) as tf.Tensor3D); // [B, nOut, 1]
    // Back to the inputs with Rᵀ: sumsᵀ·R, a plain matmul at B = 1 (a matmul, not a batched gather:
    // the wasm backend's gather with batchDims returns wrong rows for images after the first, tfjs 4.22).
    const perInput = (
      batch === 1
        ? tf.reshape(tf.matMul(tf.reshape(groupSums, [1, nOut]), tf.squeeze(matrix, [0]) as tf.Tensor2D), [1, n])
        : tf.squeeze(tf.matMul(matrix, groupSums, true, false), [2])
    ) as tf.Tensor2D; // [B, N]
    if (everyInputKept) return tf.div(weights, perInput) as tf.Tensor2D;
    const kept = tf.greaterEqual(target, tf.scalar(0, 'int32'));
    return tf.where(kept, tf.div(weights, tf.where(kept, perInput, tf.onesLike(perInput))), tf.zerosLike(weights)) as tf.Tensor2D;
  });
}

/** Assignment that keeps `rows` ([B, K] int32 indices into N, in output order) with coefficient 1. */
export function selectionAssignment(rows: tf.Tensor2D, n: number): Assignment {
  const nOut = rows.shape[1];
  const [target, coeff] = tf.tidy(() => {
    // target[b, rows[b, k]] = k, else -1: (k + 1) summed over the one-hot rows, minus 1.
    const slotPlusOne = tf.range(1, nOut + 1, 1, 'float32');
    let target: tf.Tensor2D;
    if (kernelsRunOnCpu() && rows.shape[0] === 1) {
      // One-hot by arithmetic, [K, N], then one [1, K]·[K, N] matmul (see assignmentMatrix).
      const cols = tf.reshape(tf.range(0, n, 1, 'float32'), [1, n]);
      const hits = tf.relu(tf.sub(1, tf.abs(tf.sub(tf.reshape(tf.cast(rows, 'float32'), [nOut, 1]), cols))));
      target = tf.cast(tf.sub(tf.matMul(tf.reshape(slotPlusOne, [1, nOut]), hits), 1), 'int32') as tf.Tensor2D; // [1, N]
    } else {
      // Summed in float32: WebGPU (tfjs 4.22) fails to compile the transpose it inserts for an int32
      // reduction over a middle axis.
      const hits = tf.cast(tf.oneHot(rows, n), 'float32') as tf.Tensor3D; // [B, K, N]
      target = tf.cast(tf.sub(tf.sum(tf.mul(hits, tf.reshape(slotPlusOne, [1, nOut, 1])), 1), 1), 'int32') as tf.Tensor2D; // [B, N]
    }
    const coeff = tf.where(tf.greaterEqual(target, tf.scalar(0, 'int32')), tf.ones(target.shape), tf.zeros(target.shape)) as tf.Tensor2D;
    return [target, coeff];
  });
  return { target, coeff, nOut };
}

export function disposeAssignment(assignment: Assignment): void {
  tf.dispose([assignment.target, assignment.coeff]);
}
