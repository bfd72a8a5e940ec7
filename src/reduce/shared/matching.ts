/**
 * Matching helpers shared by the merging methods (ToMe, PiToMe): cosine normalisation, sorting with
 * the tie rule, inverse permutations, and the bipartite edge choice both methods make.
 *
 * Tie rule: the lower index wins. tf.topk and tf.argMax return the lower index first on equal
 * values (exercised on wasm by tome.test.ts and pitome.test.ts); torch's argsort is unspecified on ties and torch's max
 * returns the first index, so only exact ties in a sort can differ from the official code
 * (docs/METHODS.md#common, ties). Index tensors are int32; small integers go through float32 only where it is exact
 * (< 2^24).
 *
 * Every function returns new tensors the caller owns; run them inside tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelsRunOnCpu } from '../../tokens/kernel-paths';
import { gatherRows } from '../../tokens/gather-rows';
import { fusedFamilyOn } from '../../tokens/webgpu/kernel-status';
import { ROW_NORMS_GL_FAMILY, rowNormsGL } from '../../tokens/webgl/row-norms';
import type { Assignment } from '../../tokens/types';

/** Rows divided by their L2 norm. `eps` = 0: no guard (ToMe); > 0: max(norm, eps) (F.normalize). */
export function l2Normalize(x: tf.Tensor3D, eps = 0): tf.Tensor3D {
  return tf.tidy(() => {
    // on WebGL one program for every token count (src/tokens/webgl/row-norms.ts)
    const norm = fusedFamilyOn(ROW_NORMS_GL_FAMILY) ? rowNormsGL(x) : tf.sqrt(tf.sum(tf.square(x), -1, true));
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

/** values [B, K], indices [B, M] int32 -> [B, M] with out[b, m] = values[b, indices[b, m]] (`gatherRows` on 2-D). */
export function takeAlong(values: tf.Tensor2D, indices: tf.Tensor2D): tf.Tensor2D {
  return gatherRows(values, indices);
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
 * values[b, rows[b, i], cols[b, j]]. At B = 1 on the CPU backends: the rows by GatherNd, the
 * columns by a 0/1 matmul (exact for finite values: each output is one input times 1 plus zeros);
 * on wasm ~0.2 ms for a [196, 196] matrix against ~0.7 ms for row and column GatherV2. Elsewhere
 * row and column gathers.
 */
export function takeBlock(values: tf.Tensor3D, rows: tf.Tensor2D, cols: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, k] = values.shape;
    const [m, l] = [rows.shape[1], cols.shape[1]];
    if (batch === 1 && kernelsRunOnCpu()) {
      const picked = tf.gatherND(tf.reshape(values, [k, k]), tf.reshape(rows, [m, 1])) as tf.Tensor2D; // [M, K]
      const pickCols = selectionColumns(tf.reshape(cols, [l]) as tf.Tensor1D, k); // [K, L]
      return tf.reshape(tf.matMul(picked, pickCols), [1, m, l]) as tf.Tensor3D;
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
  return tf.tidy(() => {
    const [batch, k] = values.shape;
    if (batch === 1 && kernelsRunOnCpu()) {
      const m = Math.ceil((k - start) / 2);
      return tf.reshape(tf.gatherND(tf.reshape(values, [k]), tf.reshape(tf.range(start, k, 2, 'int32'), [m, 1])), [1, m]) as tf.Tensor2D;
    }
    return tf.gather(values, tf.range(start, k, 2, 'int32'), 1) as tf.Tensor2D;
  });
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
 * Rows 0, 2, 4, … (A) and 1, 3, 5, … (B) of values [B, K, C]. On the CPU backends by GatherNd,
 * which copies whole rows (the wasm StridedSlice and GatherV2 kernels walk element by element:
 * ~0.5 ms each on [197, 64], GatherNd ~0.03 ms); elsewhere one gather per half.
 */
export function splitAlternate(values: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
  return tf.tidy(() => {
    const [batch, k, c] = values.shape;
    const nA = Math.ceil(k / 2);
    const order = alternateOrder(k);
    const half = (positions: Int32Array): tf.Tensor3D => {
      if (!kernelsRunOnCpu()) return tf.gather(values, tf.tensor1d(positions, 'int32'), 1) as tf.Tensor3D;
      const m = positions.length;
      const flat = new Int32Array(batch * m);
      for (let b = 0; b < batch; b++) for (let i = 0; i < m; i++) flat[b * m + i] = b * k + positions[i];
      return tf.reshape(tf.gatherND(tf.reshape(values, [batch * k, c]), tf.tensor2d(flat, [batch * m, 1], 'int32')), [batch, m, c]) as tf.Tensor3D;
    };
    return [half(order.subarray(0, nA)), half(order.subarray(nA))];
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

/**
 * even [B, ⌈K/2⌉] and odd [B, ⌊K/2⌋] int32 -> [B, K] with out[2i] = even[i], out[2i+1] = odd[i].
 * On the CPU backends one ScatterNd (the wasm GatherV2 kernel checks every index in JS and cost
 * ~80 µs per call here, ScatterNd ~25 µs); elsewhere one gather.
 */
export function interleaveColumns(even: tf.Tensor2D, odd: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, nA] = even.shape;
    const k = nA + odd.shape[1];
    const both = tf.concat([even, odd], 1); // [B, K]: column j holds token 2j (j < nA) or 2(j − nA) + 1
    if (kernelsRunOnCpu()) {
      const to = new Int32Array(batch * k);
      for (let b = 0; b < batch; b++) for (let j = 0; j < k; j++) to[b * k + j] = b * k + (j < nA ? 2 * j : 2 * (j - nA) + 1);
      return tf.reshape(tf.scatterND(tf.tensor2d(to, [batch * k, 1], 'int32'), tf.reshape(both, [batch * k]), [batch * k]), [batch, k]) as tf.Tensor2D;
    }
    const back = Int32Array.from({ length: k }, (_, i) => (i % 2 === 0 ? i / 2 : nA + (i - 1) / 2));
    return tf.gather(both, tf.tensor1d(back, 'int32'), 1) as tf.Tensor2D;
  });
}

/** The bipartite decision between a set A and a set B (ToMe, PiToMe's BSM layers). */
export interface BipartiteMatch {
  /** [B, |A| − r] A indices that stay, in output order (with `withIndices`). */
  unmIdx?: tf.Tensor2D;
  /** [B, r] A indices that merge, by descending best-match score (with `withIndices`). */
  srcIdx?: tf.Tensor2D;
  /** [B, r] B index each source merges into, aligned with srcIdx (with `withIndices`). */
  dstIdx?: tf.Tensor2D;
  /** [B, |A|] each A token's best score, its B partner, and A ordered by that score (with `withIndices`). */
  bestScore?: tf.Tensor2D;
  bestPartner?: tf.Tensor2D;
  edgeOrder?: tf.Tensor2D;
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
 * (what an assignment needs). Caller disposes the result.
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
    const cpu = kernelsRunOnCpu();
    // [B, |A|] rank of each A token by score: at B = 1 on the CPU backends one scatter of 0..|A|−1
    const position =
      cpu && batch === 1
        ? (tf.reshape(tf.scatterND(tf.reshape(edgeOrder, [nA, 1]), tf.range(0, nA, 1, 'int32'), [nA]), [1, nA]) as tf.Tensor2D)
        : inversePermutation(edgeOrder);
    const isSrc = tf.less(position, tf.scalar(r, 'int32'));
    let unmRow: tf.Tensor;
    if (!sortUnmerged) {
      unmRow = tf.sub(position, tf.scalar(r, 'int32'));
    } else if (cpu) {
      unmRow = tf.sub(tf.cumsum(tf.cast(tf.greaterEqual(position, tf.scalar(r, 'int32')), 'int32'), 1), tf.scalar(1, 'int32'));
    } else {
      // Counted in float32 made by tf.where, not a cast: WebGPU's Cumsum shader fails on int32
      // buffers, and its int/bool -> float32 cast only relabels them (tfjs 4.22).
      const unmerged = tf.where(isSrc, tf.zeros(position.shape), tf.ones(position.shape));
      unmRow = tf.sub(tf.cast(tf.cumsum(unmerged, 1), 'int32'), tf.scalar(1, 'int32'));
    }
    const rowA = tf.where(isSrc, tf.add(nodeIdx, tf.scalar(nUnm, 'int32')), unmRow) as tf.Tensor2D;
    const rowB = constantRows(
      batch,
      Int32Array.from({ length: nB }, (_, j) => nUnm + j),
    );
    if (!withIndices) return { rowA, rowB };
    const srcIdx = tf.slice(edgeOrder, [0, 0], [batch, r]) as tf.Tensor2D;
    const unmByScore = tf.slice(edgeOrder, [0, r], [batch, nUnm]) as tf.Tensor2D;
    const unmIdx = sortUnmerged && nUnm > 0 ? sortIndicesAscending(unmByScore) : unmByScore;
    const dstIdx = takeAlong(nodeIdx, srcIdx);
    return { unmIdx, srcIdx, dstIdx, rowA, rowB, bestScore: nodeMax, bestPartner: nodeIdx, edgeOrder };
  });
}

/**
 * Decisions in host memory. On the CPU backends (wasm, cpu) a tensor already lives in CPU memory,
 * so reading the few numbers a decision rests on (ToMe's [⌈N/2⌉, ⌊N/2⌋] scores, PiToMe's energies,
 * ATS's significances) is a copy, not a GPU→CPU transfer; the sorting and integer bookkeeping then
 * take microseconds in plain JS, where the same steps as tf ops cost ~45 small kernels per layer
 * (measured on wasm, DeiT-Tiny, ToMe r = 13: 10.4 ms of a 64 ms forward in the decisions, 2.7 ms
 * this way). The numbers are the same: comparisons and integer arithmetic are exact, and the float
 * steps are float32 operations in the same order (Math.fround after each). WebGL/WebGPU keep the
 * device versions, with no read-back per layer.
 */

/** Positions 0..k−1 sorted by value descending, ties lower index first (tf.topk's order). */
export function argsortDescendingHost(values: ArrayLike<number>, k = values.length): Int32Array {
  const order = Int32Array.from({ length: k }, (_, i) => i);
  return order.sort((a, b) => {
    const va = values[a];
    const vb = values[b];
    return va > vb ? -1 : va < vb ? 1 : a - b;
  });
}

/** One image's bipartite decision, as `bipartiteMatch` makes it on device. */
export interface HostMatch {
  rowA: Int32Array;
  rowB: Int32Array;
  unmIdx: Int32Array;
  srcIdx: Int32Array;
  dstIdx: Int32Array;
  /** Each A token's best score (−∞ for a skipped row) and B partner, and A by that score. */
  bestScore: Float32Array;
  bestPartner: Int32Array;
  edgeOrder: Int32Array;
}

/**
 * `bipartiteMatch` for one image whose scores ([|A|, |B|] row-major, from `offset`) are in host
 * memory. `skipRow0`: A row 0 never merges (CLS), `skipCol0`: B column 0 is never a destination
 * (DIST), as protectScores' −∞ entries make it on device. Ties as on device: the first index of
 * a row's maximum, the lower index first among equal best scores.
 */
export function bipartiteMatchHost(
  scores: ArrayLike<number>,
  offset: number,
  nA: number,
  nB: number,
  r: number,
  { sortUnmerged, skipRow0 = false, skipCol0 = false }: { sortUnmerged: boolean; skipRow0?: boolean; skipCol0?: boolean },
): HostMatch {
  const nodeMax = new Float64Array(nA);
  const nodeIdx = new Int32Array(nA);
  for (let i = 0; i < nA; i++) {
    let best = -Infinity;
    let at = 0;
    if (!(skipRow0 && i === 0)) {
      for (let j = skipCol0 ? 1 : 0; j < nB; j++) {
        const v = scores[offset + i * nB + j];
        if (v > best) {
          best = v;
          at = j;
        }
      }
    }
    nodeMax[i] = best;
    nodeIdx[i] = at;
  }
  const edge = argsortDescendingHost(nodeMax);
  const nUnm = nA - r;
  const srcIdx = edge.slice(0, r);
  const unmByScore = edge.slice(r);
  const unmIdx = sortUnmerged ? unmByScore.slice().sort() : unmByScore;
  const rowA = new Int32Array(nA);
  unmIdx.forEach((a, row) => (rowA[a] = row));
  const dstIdx = srcIdx.map((a) => nodeIdx[a]);
  srcIdx.forEach((a, k) => (rowA[a] = nUnm + dstIdx[k]));
  const rowB = Int32Array.from({ length: nB }, (_, j) => nUnm + j);
  return { rowA, rowB, unmIdx, srcIdx, dstIdx, bestScore: Float32Array.from(nodeMax), bestPartner: nodeIdx, edgeOrder: edge };
}

/**
 * Coefficients of a weighted mean per output row (`weightedMeanCoeffs` with every input kept) for
 * one image in host memory: group sums added in input order in float32, as the scatter does.
 */
export function meanCoeffsHost(target: Int32Array, weights: ArrayLike<number>, offset: number, nOut: number): Float32Array {
  const sums = new Float32Array(nOut);
  for (let i = 0; i < target.length; i++) sums[target[i]] = Math.fround(sums[target[i]] + weights[offset + i]);
  return Float32Array.from(target, (t, i) => Math.fround(weights[offset + i] / sums[t]));
}
