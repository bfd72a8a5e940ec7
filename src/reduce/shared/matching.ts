/**
 * Matching helpers shared by the merging methods (ToMe, PiToMe): cosine normalisation, sorting with
 * the tie rule, inverse permutations, and the bipartite edge choice both methods make.
 *
 * Tie rule: the lower index wins. tf.topk and tf.argMax return the lower index first on equal
 * values (exercised on wasm by tome.test.ts and pitome.test.ts); torch's argsort is unspecified on ties and torch's max
 * returns the first index, so only exact ties in a sort can differ from the official code
 * (spec §9.1). Index tensors are int32; small integers go through float32 only where it is exact
 * (< 2^24).
 *
 * Every function returns new tensors the caller owns; run them inside tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelsRunOnCpu } from '../../model/ops';
import type { Assignment } from '../types';

/** Rows divided by their L2 norm. `eps` = 0: no guard (ToMe); > 0: max(norm, eps) (F.normalize). */
export function l2Normalize(x: tf.Tensor3D, eps = 0): tf.Tensor3D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(x), -1, true));
    return tf.div(x, eps > 0 ? tf.maximum(norm, eps) : norm) as tf.Tensor3D;
  });
}

/** [B, K] int32: positions sorted by value, descending; ties lower index first. */
export function argsortDescending(values: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.topk(values, values.shape[1]).indices as tf.Tensor2D);
}

/** [B, K] int32 index values sorted ascending. */
export function sortIndicesAscending(indices: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const negated = tf.neg(tf.cast(indices, 'float32')) as tf.Tensor2D;
    return tf.cast(tf.neg(tf.topk(negated, indices.shape[1]).values), 'int32') as tf.Tensor2D;
  });
}

/** For a permutation perm [B, K] of 0..K-1: inv[b, i] = the position p with perm[b, p] = i. */
export function inversePermutation(perm: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => argsortDescending(tf.neg(tf.cast(perm, 'float32')) as tf.Tensor2D));
}

/**
 * values [B, K, C], indices [B, M] int32 -> [B, M, C]: out[b, m] = values[b, indices[b, m]].
 * One flat gather over B·K rows. Not tf.gather(…, batchDims = 1): on the wasm backend that returns
 * rows of the wrong image for most shapes once B > 1 (tfjs 4.22; plain gathers are correct).
 */
export function gatherRows(values: tf.Tensor3D, indices: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, k, c] = values.shape;
    const m = indices.shape[1];
    const offsets = tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(k, 'int32')).expandDims(1);
    const flatIdx = tf.reshape(tf.add(indices, offsets), [batch * m]);
    return tf.reshape(tf.gather(tf.reshape(values, [batch * k, c]), flatIdx, 0), [batch, m, c]) as tf.Tensor3D;
  });
}

/** values [B, K], indices [B, M] int32 -> [B, M] with out[b, m] = values[b, indices[b, m]]. */
export function takeAlong(values: tf.Tensor2D, indices: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    if (values.shape[0] === 1) return tf.reshape(tf.gather(values, tf.reshape(indices, [-1]), 1), indices.shape) as tf.Tensor2D;
    return tf.squeeze(gatherRows(tf.expandDims(values, 2) as tf.Tensor3D, indices), [2]) as tf.Tensor2D;
  });
}

/**
 * [K, M] 0/1 matrix with out[k, m] = 1 where idx[m] = k (idx [M] int32 of values in 0..K−1), built
 * by float arithmetic: 1 − |k − idx| is 1 on a match and ≤ 0 elsewhere (see assignment.ts).
 */
function selectionColumns(idx: tf.Tensor1D, k: number): tf.Tensor2D {
  const m = idx.shape[0];
  const ks = tf.reshape(tf.range(0, k, 1, 'float32'), [k, 1]);
  return tf.relu(tf.sub(1, tf.abs(tf.sub(ks, tf.reshape(tf.cast(idx, 'float32'), [1, m]))))) as tf.Tensor2D;
}

/**
 * values [B, K, K], rows [B, M], cols [B, L] int32 -> [B, M, L] with out[b, i, j] =
 * values[b, rows[b, i], cols[b, j]]. At B = 1 on the CPU backends as two 0/1 matmuls, Sᵣᵀ·V·S꜀
 * (exact for finite values: each output is one input times 1 plus zeros); the wasm Gather kernel
 * takes ~0.7 ms for the rows and columns of a [196, 196] matrix, the matmuls ~0.3 ms. Elsewhere
 * row and column gathers.
 */
export function takeBlock(values: tf.Tensor3D, rows: tf.Tensor2D, cols: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, k] = values.shape;
    const [m, l] = [rows.shape[1], cols.shape[1]];
    if (batch === 1 && kernelsRunOnCpu()) {
      const pickRows = tf.transpose(selectionColumns(tf.reshape(rows, [m]) as tf.Tensor1D, k)) as tf.Tensor2D; // [M, K]
      const pickCols = selectionColumns(tf.reshape(cols, [l]) as tf.Tensor1D, k); // [K, L]
      const picked = tf.matMul(tf.matMul(pickRows, tf.reshape(values, [k, k]) as tf.Tensor2D), pickCols);
      return tf.reshape(picked, [1, m, l]) as tf.Tensor3D;
    }
    const picked = tf.transpose(gatherRows(values, rows), [0, 2, 1]) as tf.Tensor3D; // [B, K, M]
    return tf.transpose(gatherRows(picked, cols), [0, 2, 1]) as tf.Tensor3D;
  });
}

/**
 * Columns start, start + 2, … of a [B, K] tensor. A gather, not stridedSlice: the wasm backend's
 * StridedSlice returns int32 input labelled float32 (tfjs 4.22).
 */
export function everyOther(values: tf.Tensor2D, start: number): tf.Tensor2D {
  return tf.tidy(() => tf.gather(values, tf.range(start, values.shape[1], 2, 'int32'), 1) as tf.Tensor2D);
}

/** even [B, ceil(K/2)], odd [B, floor(K/2)] -> [B, K] with out[2i] = even[i], out[2i+1] = odd[i]. */
export function interleave(even: tf.Tensor2D, odd: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, nEven] = even.shape;
    const nOdd = odd.shape[1];
    const padded = nOdd < nEven ? tf.concat([odd, tf.zerosLike(tf.slice(even, [0, 0], [batch, nEven - nOdd]))], 1) : odd;
    const pairs = tf.reshape(tf.stack([even, padded], 2), [batch, 2 * nEven]);
    return tf.slice(pairs, [0, 0], [batch, nEven + nOdd]) as tf.Tensor2D;
  });
}

/** [B, K] int32 holding 0..K-1 in every row. */
export function rangeRows(batch: number, k: number): tf.Tensor2D {
  return tf.tidy(() => tf.tile(tf.expandDims(tf.range(0, k, 1, 'int32'), 0), [batch, 1]) as tf.Tensor2D);
}

/** Every token kept in place with coefficient 1. */
export function identityAssignment(batch: number, n: number): Assignment {
  return { target: rangeRows(batch, n), coeff: tf.ones([batch, n]) as tf.Tensor2D, nOut: n };
}

/** [B, K] int32 holding the same `values` in every row: one upload, no range/tile chain. */
export function constantRows(batch: number, values: ArrayLike<number>): tf.Tensor2D {
  const k = values.length;
  const data = new Int32Array(batch * k);
  for (let b = 0; b < batch; b++) for (let i = 0; i < k; i++) data[b * k + i] = values[i];
  return tf.tensor2d(data, [batch, k], 'int32');
}

/** Positions 0, 2, 4, … then 1, 3, 5, … of K: the A/B split of a token sequence. */
function alternateOrder(k: number): Int32Array {
  const nA = Math.ceil(k / 2);
  return Int32Array.from({ length: k }, (_, i) => (i < nA ? 2 * i : 2 * (i - nA) + 1));
}

/**
 * Rows 0, 2, 4, … (A) and 1, 3, 5, … (B) of values [B, K, C]. At B = 1 on the CPU backends the rows
 * are re-ordered by one 0/1 permutation matmul and cut by two contiguous slices: the wasm
 * StridedSlice and Gather kernels cost ~0.5 ms on [197, 64], the matmul ~0.1 ms (exact: each output
 * is one input times 1 plus zeros, for finite values). Elsewhere one gather per half.
 */
export function splitAlternate(values: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
  return tf.tidy(() => {
    const [batch, k, c] = values.shape;
    const nA = Math.ceil(k / 2);
    const order = alternateOrder(k);
    if (batch === 1 && kernelsRunOnCpu()) {
      const perm = new Float32Array(k * k);
      order.forEach((from, to) => (perm[to * k + from] = 1));
      const permuted = tf.matMul(tf.tensor2d(perm, [k, k]), tf.reshape(values, [k, c]) as tf.Tensor2D); // [K, C]
      return [
        tf.reshape(tf.slice(permuted, [0, 0], [nA, c]), [1, nA, c]) as tf.Tensor3D,
        tf.reshape(tf.slice(permuted, [nA, 0], [k - nA, c]), [1, k - nA, c]) as tf.Tensor3D,
      ];
    }
    return [
      tf.gather(values, tf.tensor1d(order.subarray(0, nA), 'int32'), 1) as tf.Tensor3D,
      tf.gather(values, tf.tensor1d(order.subarray(nA), 'int32'), 1) as tf.Tensor3D,
    ];
  });
}

/** a [B, M, C], b [B, K, C] -> a·bᵀ [B, M, K]; at B = 1 an explicit transpose and a plain 2-D matmul (wasm's fast path). */
export function rowDots(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, m, c] = a.shape;
    const k = b.shape[1];
    if (batch !== 1) return tf.matMul(a, b, false, true);
    const bT = tf.transpose(tf.reshape(b, [k, c])) as tf.Tensor2D;
    return tf.reshape(tf.matMul(tf.reshape(a, [m, c]) as tf.Tensor2D, bT), [1, m, k]) as tf.Tensor3D;
  });
}

/** even [B, ⌈K/2⌉] and odd [B, ⌊K/2⌋] int32 -> [B, K] with out[2i] = even[i], out[2i+1] = odd[i] (one gather). */
export function interleaveColumns(even: tf.Tensor2D, odd: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const k = even.shape[1] + odd.shape[1];
    const nA = even.shape[1];
    const back = Int32Array.from({ length: k }, (_, i) => (i % 2 === 0 ? i / 2 : nA + (i - 1) / 2));
    return tf.gather(tf.concat([even, odd], 1), tf.tensor1d(back, 'int32'), 1) as tf.Tensor2D;
  });
}

/** The bipartite decision between a set A and a set B (ToMe, PiToMe's BSM layers). */
export interface BipartiteMatch {
  /** [B, |A| − r] A indices that stay, in output order. */
  unmIdx: tf.Tensor2D;
  /** [B, r] A indices that merge, by descending best-match score. */
  srcIdx: tf.Tensor2D;
  /** [B, r] B index each source merges into, aligned with srcIdx. */
  dstIdx: tf.Tensor2D;
  /** [B, |A|] output row of each A token in the order [unmerged A, all of B]. */
  rowA: tf.Tensor2D;
  /** [B, |B|] output row of each B token in that order (|unm| + j). */
  rowB: tf.Tensor2D;
}

/**
 * ToMe's edge choice on a similarity matrix scores [B, |A|, |B|]: each A token's best B match
 * (first index on ties), A sorted by that best score descending, the first r become sources.
 * The unmerged A tokens keep that score order unless `sortUnmerged` (ToMe with a class token),
 * which puts them in A-index order. With `withIndices: false` only rowA and rowB are computed
 * (what an assignment needs) and the index fields are empty [B, 0] tensors. Caller disposes the result.
 */
export function bipartiteMatch(
  scores: tf.Tensor3D,
  r: number,
  { sortUnmerged, withIndices = true }: { sortUnmerged: boolean; withIndices?: boolean },
): BipartiteMatch {
  return tf.tidy(() => {
    const [batch, nA, nB] = scores.shape;
    const nUnm = nA - r;
    const nodeMax = tf.max(scores, -1) as tf.Tensor2D; // [B, |A|]
    const nodeIdx = tf.argMax(scores, -1) as tf.Tensor2D; // [B, |A|] int32
    const edgeOrder = argsortDescending(nodeMax); // [B, |A|]
    const position = inversePermutation(edgeOrder); // [B, |A|] rank of each A token by score
    const isSrc = tf.less(position, tf.scalar(r, 'int32'));
    let unmRow: tf.Tensor;
    if (!sortUnmerged) {
      unmRow = tf.sub(position, tf.scalar(r, 'int32'));
    } else {
      // Counted in float32 made by tf.where, not a cast, on the GPU backends: WebGPU's Cumsum shader
      // fails on int32 buffers, and its int/bool -> float32 cast only relabels them (tfjs 4.22).
      const unmerged = kernelsRunOnCpu()
        ? tf.cast(tf.logicalNot(isSrc), 'float32')
        : tf.where(isSrc, tf.zeros(position.shape), tf.ones(position.shape));
      unmRow = tf.sub(tf.cast(tf.cumsum(unmerged, 1), 'int32'), tf.scalar(1, 'int32'));
    }
    const rowA = tf.where(isSrc, tf.add(nodeIdx, tf.scalar(nUnm, 'int32')), unmRow) as tf.Tensor2D;
    const rowB = constantRows(batch, Int32Array.from({ length: nB }, (_, j) => nUnm + j));
    if (!withIndices) {
      const none = tf.zeros([batch, 0], 'int32') as tf.Tensor2D;
      return { unmIdx: none, srcIdx: tf.clone(none), dstIdx: tf.clone(none), rowA, rowB };
    }
    const srcIdx = tf.slice(edgeOrder, [0, 0], [batch, r]) as tf.Tensor2D;
    const unmByScore = tf.slice(edgeOrder, [0, r], [batch, nUnm]) as tf.Tensor2D;
    const unmIdx = sortUnmerged && nUnm > 0 ? sortIndicesAscending(unmByScore) : unmByScore;
    const dstIdx = takeAlong(nodeIdx, srcIdx);
    return { unmIdx, srcIdx, dstIdx, rowA, rowB };
  });
}
