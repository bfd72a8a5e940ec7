/**
 * The one primitive every method shares: apply an Assignment to any per-token tensor.
 *
 *   out[b, t, :] = sum over inputs n with target[b, n] = t of coeff[b, n] * values[b, n, :]
 *
 * Features use the method's coefficients; sizes and lineage use coefficient 1 (`sumInto`), so
 * `size' = R · size` and `source' = R · source` with R the 0/1 assignment matrix.
 *
 * Two implementations, chosen by backend (model/ops.ts `kernelsRunOnCpu`):
 * - wasm/cpu: one ScatterNd, which adds every input row into its target row (dropped inputs go to a
 *   spare row that is cut off). Measured on wasm (Node, nOut = 184, N = 197, D = 192): 0.09 ms,
 *   against 0.55 ms for building R and multiplying (the wasm backend has no UnsortedSegmentSum; a
 *   broadcast Equal + Tile build of R alone took 3 ms). Selections and merges alike; the sums are
 *   the same sums of the same products, in input order.
 * - WebGPU, once the device has passed the check (webgpu/kernel-status.ts): one fused program per
 *   tensor (webgpu/apply-assignment.ts), the coefficients folded in.
 * - WebGL, once the device has passed the check: the same as GLSL programs (webgl/apply-assignment.ts).
 * - WebGL and WebGPU without those programs: the matmul with R [nOut, N], built by one
 *   broadcast comparison (every op is one dispatch there), and `applySelection` gathers rows.
 * All functions return new tensors the caller owns; run them inside tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelsRunOnCpu } from './kernel-paths';
import { disposeEvidence } from './evidence';
import { APPLY_FAMILY, applyAssignmentProgram, groupMeanProgram } from './webgpu/apply-assignment';
import { fusedFamilyOn } from './webgpu/kernel-status';
import { APPLY_GL_FAMILY, applyAssignmentGL, assignmentLinksGL, groupMeanGL } from './webgl/apply-assignment';
import { SELECT_FAMILY, selectRowsProgram } from './webgpu/select-rows';
import { SELECT_GL_FAMILY, selectRowsGL, selectSourceGL, selectionTargetGL } from './webgl/select-rows';
import type { Assignment, Reduction } from './types';

/** [B, nOut, N] matrix R with R[b, t, n] = coeff[b, n] where target[b, n] = t. */
export function assignmentMatrix(target: tf.Tensor2D, coeff: tf.Tensor2D | null, nOut: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, n] = target.shape;
    let hits: tf.Tensor3D; // [B, nOut, N] of 0/1
    if (kernelsRunOnCpu()) {
      // 1 − |t − target| is 1 where they are equal and ≤ 0 elsewhere (integers, exact in float32);
      // -1 matches no row. (A broadcast Equal costs ~2 ms here for [184, 197].)
      const rows = tf.reshape(tf.range(0, nOut, 1, 'float32'), [1, nOut, 1]);
      const targets = tf.reshape(tf.cast(target, 'float32'), [batch, 1, n]);
      hits = tf.relu(tf.sub(1, tf.abs(tf.sub(rows, targets)))) as tf.Tensor3D;
    } else {
      // Built by comparison rather than tf.oneHot + cast: WebGPU's int32 -> float32 cast only
      // relabels the buffer, which its Transpose and Cumsum shaders then fail to compile (tfjs
      // 4.22). tf.where makes a real float.
      const rows = tf.reshape(tf.range(0, nOut, 1, 'int32'), [1, nOut, 1]);
      const equal = tf.equal(rows, tf.expandDims(target, 1)); // [B, nOut, N]; -1 matches no row
      hits = tf.where(equal, tf.ones([batch, nOut, n]), tf.zeros([batch, nOut, n])) as tf.Tensor3D;
    }
    return coeff ? (tf.mul(hits, tf.expandDims(coeff, 1)) as tf.Tensor3D) : hits;
  });
}

/** matrix [B, M, K] · values [B, K, C]; one plain 2-D matmul when B = 1. */
function applyMatrix(matrix: tf.Tensor3D, values: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    if (matrix.shape[0] === 1) {
      const out = tf.matMul(tf.squeeze(matrix, [0]) as tf.Tensor2D, tf.squeeze(values, [0]) as tf.Tensor2D);
      return tf.expandDims(out, 0) as tf.Tensor3D;
    }
    return tf.matMul(matrix, values);
  });
}

/** Where each input row goes in a scatter's flat output, and how that output is laid out. */
interface ScatterPlan {
  /** [B·N, 1] int32 row of the flat output. */
  indices: tf.Tensor2D;
  /** The first real row; a spare row (dropped inputs) sits before it at B = 1, after the real rows for B > 1. */
  first: number;
  /** Whether the output has the spare row at all. */
  spare: boolean;
}

/**
 * Where each input row goes in the flat [B·nOut (+ 1)] output of a scatter. One spare row collects
 * the dropped inputs (target −1): at B = 1 it is row 0 (index = target + 1, two ops); for B > 1 it
 * is the last row, so the real rows stay contiguous. When every input is kept (merges) there is no
 * spare row, and no slice to cut it off (on wasm a Slice copies its whole input).
 */
function scatterPlan(target: tf.Tensor2D, nOut: number, everyInputKept = false): ScatterPlan {
  const [batch, n] = target.shape;
  const offsets = () => tf.reshape(tf.range(0, batch * nOut, nOut, 'int32'), [batch, 1]);
  if (everyInputKept) {
    const flat = batch === 1 ? target : tf.add(target, offsets());
    return { indices: tf.reshape(flat, [batch * n, 1]) as tf.Tensor2D, first: 0, spare: false };
  }
  if (batch === 1) return { indices: tf.reshape(tf.add(target, tf.scalar(1, 'int32')), [n, 1]) as tf.Tensor2D, first: 1, spare: true };
  const flat = tf.where(tf.less(target, 0), tf.fill([batch, n], batch * nOut, 'int32'), tf.add(target, offsets()));
  return { indices: tf.reshape(flat, [batch * n, 1]) as tf.Tensor2D, first: 0, spare: true };
}

/** values [B, N, C] summed into their target rows: [B, nOut, C] (the spare row cut off). */
function scatterRows({ indices, first, spare }: ScatterPlan, values: tf.Tensor3D, nOut: number): tf.Tensor3D {
  const [batch, n, c] = values.shape;
  const sums = tf.scatterND(indices, tf.reshape(values, [batch * n, c]), [batch * nOut + (spare ? 1 : 0), c]);
  const rows = spare ? tf.slice(sums, [first, 0], [batch * nOut, c]) : sums;
  return tf.reshape(rows, [batch, nOut, c]) as tf.Tensor3D;
}

/** [B, N, C] -> [B, nOut, C] with the assignment's coefficients. */
export function applyAssignment(assignment: Assignment, values: tf.Tensor3D): tf.Tensor3D {
  return applyAndSum(assignment, [values], []).applied[0];
}

/** [B, N, C] -> [B, nOut, C] summing every absorbed row with weight 1 (sizes, lineage). */
export function sumInto(assignment: Assignment, values: tf.Tensor3D): tf.Tensor3D {
  return applyAndSum(assignment, [], [values]).sums[0];
}

export interface ApplyOptions {
  /** Every input has an output row (no −1 targets), as in every merge: the CPU scatter needs no spare row. */
  everyInputKept?: boolean;
}

/**
 * `applyAssignment` on each of `weighted` and `sumInto` on each of `summed`, sharing the work that
 * depends only on the targets (the engine's step: features, then sizes). Each weighted input is
 * scaled row-wise by the coefficients first, R·(c ⊙ x), the same sum of the same products as
 * (R ⊙ c)·x.
 */
export function applyAndSum(
  assignment: Assignment,
  weighted: tf.Tensor3D[],
  summed: tf.Tensor3D[],
  { everyInputKept = false }: ApplyOptions = {},
): { applied: tf.Tensor3D[]; sums: tf.Tensor3D[] } {
  return tf.tidy(() => {
    const { target, nOut } = assignment;
    if (fusedFamilyOn(APPLY_FAMILY)) {
      return {
        applied: weighted.map((v) => applyAssignmentProgram(v, target, assignment.coeff, nOut)),
        sums: summed.map((v) => applyAssignmentProgram(v, target, null, nOut)),
      } as unknown as tf.TensorContainer;
    }
    if (fusedFamilyOn(APPLY_GL_FAMILY)) {
      const links = assignmentLinksGL(target, nOut); // one list of each row's inputs for every tensor
      return {
        applied: weighted.map((v) => applyAssignmentGL(v, target, assignment.coeff, nOut, links)),
        sums: summed.map((v) => applyAssignmentGL(v, target, null, nOut, links)),
      } as unknown as tf.TensorContainer;
    }
    const coeff = tf.expandDims(assignment.coeff, 2); // [B, N, 1]
    const scaled = weighted.map((v) => tf.mul(v, coeff) as tf.Tensor3D);
    if (kernelsRunOnCpu()) {
      const indices = scatterPlan(target, nOut, everyInputKept);
      return {
        applied: scaled.map((v) => scatterRows(indices, v, nOut)),
        sums: summed.map((v) => scatterRows(indices, v, nOut)),
      } as unknown as tf.TensorContainer;
    }
    const matrix = assignmentMatrix(target, null, nOut);
    return {
      applied: scaled.map((v) => applyMatrix(matrix, v)),
      sums: summed.map((v) => applyMatrix(matrix, v)),
    } as unknown as tf.TensorContainer;
  }) as unknown as { applied: tf.Tensor3D[]; sums: tf.Tensor3D[] };
}

/**
 * `applyAndSum` for a selection: every output row below `fusedRow` (all rows when there is none)
 * takes exactly one input row, with coefficient 1 (EViT, top-k, ATS at one image). On the GPU
 * backends those rows are gathered (the same numbers as 1·x plus zeros) and EViT's fused row is one
 * row of the matrix; which input lands in which row comes from sorting the targets, as the selected
 * inputs' targets are 0..nSel−1, each once. On wasm/cpu the scatter of `applyAndSum` already costs
 * what a gather does. On WebGPU without a fused row, once the device passed its check: one
 * program per tensor (webgpu/select-rows.ts); on WebGL one program for the rows' sources and one
 * per tensor (webgl/select-rows.ts).
 */
export function applySelection(assignment: Assignment, weighted: tf.Tensor3D[], summed: tf.Tensor3D[]): { applied: tf.Tensor3D[]; sums: tf.Tensor3D[] } {
  if (kernelsRunOnCpu()) return applyAndSum(assignment, weighted, summed);
  if (fusedFamilyOn(SELECT_FAMILY) && assignment.fusedRow === undefined) {
    // one program per tensor where the gather below costs a sort of the targets and ~10 dispatches
    const { target, nOut } = assignment;
    return { applied: weighted.map((v) => selectRowsProgram(v, target, nOut)), sums: summed.map((v) => selectRowsProgram(v, target, nOut)) };
  }
  if (fusedFamilyOn(SELECT_GL_FAMILY) && assignment.fusedRow === undefined) {
    // on WebGL: each output row's input found once (webgl/select-rows.ts), then one copy per tensor
    const source = selectSourceGL(assignment.target, assignment.nOut);
    const picked = { applied: weighted.map((v) => selectRowsGL(v, source)), sums: summed.map((v) => selectRowsGL(v, source)) };
    source.dispose();
    return picked;
  }
  return tf.tidy(() => {
    const { target, coeff, nOut, fusedRow } = assignment;
    const [batch, n] = target.shape;
    const nSel = fusedRow ?? nOut;
    // rows[b, t] = the input n with target[b, n] = t, for t < nSel: ascending sort of the targets with
    // every other input pushed past the end.
    const key = tf.where(tf.logicalAnd(tf.greaterEqual(target, 0), tf.less(target, nSel)), target, tf.fill([batch, n], n + nSel, 'int32'));
    const rows = tf.topk(tf.neg(tf.cast(key, 'float32')), nSel).indices; // [B, nSel]
    const flat = tf.reshape(tf.add(rows, tf.reshape(tf.range(0, batch * n, n, 'int32'), [batch, 1])), [batch * nSel]); // rows of [B·N, C]
    const pick = (v: tf.Tensor3D) => tf.reshape(tf.gather(tf.reshape(v, [batch * n, v.shape[2]]), flat), [batch, nSel, v.shape[2]]) as tf.Tensor3D;
    const rest = nOut - nSel; // the fused row, through its row of the matrix
    const restMatrix = rest > 0 ? tf.slice(assignmentMatrix(target, null, nOut), [0, nSel, 0], [batch, rest, n]) : null;
    const withRest = (selected: tf.Tensor3D, v: tf.Tensor3D, weights: tf.Tensor2D | null) =>
      restMatrix
        ? (tf.concat([selected, applyMatrix(restMatrix, weights ? (tf.mul(v, tf.expandDims(weights, 2)) as tf.Tensor3D) : v)], 1) as tf.Tensor3D)
        : selected;
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
  if (fusedFamilyOn(APPLY_FAMILY)) return groupMeanProgram(target, weights);
  if (fusedFamilyOn(APPLY_GL_FAMILY)) return groupMeanGL(target, weights);
  return tf.tidy(() => {
    const [batch, n] = target.shape;
    let perInput: tf.Tensor2D; // [B, N]: the sum of n's group
    if (kernelsRunOnCpu()) {
      // group sums by one scatter, read back per input by one gather
      const { indices } = scatterPlan(target, nOut);
      const groupSums = tf.scatterND(indices, tf.reshape(weights, [batch * n]), [batch * nOut + 1]);
      perInput = tf.reshape(tf.gatherND(groupSums, indices), [batch, n]) as tf.Tensor2D;
    } else {
      const matrix = assignmentMatrix(target, null, nOut); // [B, nOut, N]
      const groupSums = applyMatrix(matrix, tf.expandDims(weights, 2) as tf.Tensor3D); // [B, nOut, 1]
      // Back to the inputs with Rᵀ (a matmul, not a batched gather: the wasm backend's gather with
      // batchDims returns wrong rows for images after the first, tfjs 4.22).
      perInput = tf.squeeze(tf.matMul(matrix, groupSums, true, false), [2]) as tf.Tensor2D;
    }
    if (everyInputKept) return tf.div(weights, perInput) as tf.Tensor2D;
    const kept = tf.greaterEqual(target, tf.scalar(0, 'int32'));
    return tf.where(kept, tf.div(weights, tf.where(kept, perInput, tf.onesLike(perInput))), tf.zerosLike(weights)) as tf.Tensor2D;
  });
}

/** Assignment that keeps `rows` ([B, K] int32 indices into N, in output order) with coefficient 1. */
export function selectionAssignment(rows: tf.Tensor2D, n: number): Assignment {
  const [batch, nOut] = rows.shape;
  // on WebGL one shader for every count, where the one-hot sum below compiles a set per shape
  if (fusedFamilyOn(SELECT_GL_FAMILY)) {
    const [target, coeff] = selectionTargetGL(rows, n);
    return { target, coeff, nOut };
  }
  const [target, coeff] = tf.tidy(() => {
    let target: tf.Tensor2D; // target[b, rows[b, k]] = k, else -1
    if (kernelsRunOnCpu()) {
      // k + 1 scattered to each kept input (0 elsewhere), minus 1; empty slots (-1) to a spare entry
      const offsets = tf.reshape(tf.range(0, batch * n, n, 'int32'), [batch, 1]);
      const flat = tf.where(tf.less(rows, 0), tf.fill([batch, nOut], batch * n, 'int32'), tf.add(rows, offsets));
      const slotPlusOne = tf.tile(tf.reshape(tf.range(1, nOut + 1, 1, 'int32'), [1, nOut]), [batch, 1]);
      const placed = tf.scatterND(tf.reshape(flat, [batch * nOut, 1]), tf.reshape(slotPlusOne, [batch * nOut]), [batch * n + 1]);
      target = tf.sub(tf.reshape(tf.slice(placed, [0], [batch * n]), [batch, n]), tf.scalar(1, 'int32')) as tf.Tensor2D;
    } else {
      // (k + 1) summed over the one-hot rows, in float32: WebGPU (tfjs 4.22) fails to compile the
      // transpose it inserts for an int32 reduction over a middle axis.
      const slotPlusOne = tf.range(1, nOut + 1, 1, 'float32').reshape([1, nOut, 1]);
      const hits = tf.cast(tf.oneHot(rows, n), 'float32') as tf.Tensor3D; // [B, K, N]
      target = tf.cast(tf.sub(tf.sum(tf.mul(hits, slotPlusOne), 1), 1), 'int32') as tf.Tensor2D; // [B, N]
    }
    const coeff = tf.where(tf.greaterEqual(target, tf.scalar(0, 'int32')), tf.ones(target.shape), tf.zeros(target.shape)) as tf.Tensor2D;
    return [target, coeff];
  });
  return { target, coeff, nOut };
}

export function disposeAssignment(assignment: Assignment): void {
  tf.dispose([assignment.target, assignment.coeff]);
}

/** Frees every tensor of a reduction: its assignment and whichever extras it carries. */
export function disposeReduction(reduction: Reduction): void {
  disposeAssignment(reduction.assignment);
  disposeReductionExtras(reduction);
  disposeEvidence(reduction.evidence);
}

/** Frees the extras of a reduction (features, attnNext, rows, sizeCoeff), leaving its assignment and evidence to whoever keeps them. */
export function disposeReductionExtras({ features, attnNext, rows, sizeCoeff }: Reduction): void {
  tf.dispose([features, attnNext, rows, sizeCoeff].filter((t) => t !== undefined) as tf.Tensor[]);
}
