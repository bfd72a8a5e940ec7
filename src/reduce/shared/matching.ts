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
  return tf.tidy(() => tf.squeeze(gatherRows(tf.expandDims(values, 2) as tf.Tensor3D, indices), [2]) as tf.Tensor2D);
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
 * which puts them in A-index order. Caller disposes the result.
 */
export function bipartiteMatch(scores: tf.Tensor3D, r: number, { sortUnmerged }: { sortUnmerged: boolean }): BipartiteMatch {
  return tf.tidy(() => {
    const [batch, nA, nB] = scores.shape;
    const nUnm = nA - r;
    const nodeMax = tf.max(scores, -1) as tf.Tensor2D; // [B, |A|]
    const nodeIdx = tf.argMax(scores, -1) as tf.Tensor2D; // [B, |A|] int32
    const edgeOrder = argsortDescending(nodeMax); // [B, |A|]
    const srcIdx = tf.slice(edgeOrder, [0, 0], [batch, r]) as tf.Tensor2D;
    const unmByScore = tf.slice(edgeOrder, [0, r], [batch, nUnm]) as tf.Tensor2D;
    const unmIdx = sortUnmerged && nUnm > 0 ? sortIndicesAscending(unmByScore) : unmByScore;
    const dstIdx = takeAlong(nodeIdx, srcIdx);

    const position = inversePermutation(edgeOrder); // [B, |A|] rank of each A token by score
    const isSrc = tf.less(position, tf.scalar(r, 'int32'));
    const unmRow = sortUnmerged
      ? // counted in float32 made by tf.where, not a cast: WebGPU's Cumsum shader fails on int32
        // buffers, and its int/bool -> float32 cast only relabels them (tfjs 4.22)
        tf.sub(tf.cast(tf.cumsum(tf.where(isSrc, tf.zeros(position.shape), tf.ones(position.shape)), 1), 'int32'), tf.scalar(1, 'int32'))
      : tf.sub(position, tf.scalar(r, 'int32'));
    const offset = tf.scalar(nUnm, 'int32');
    const rowA = tf.where(isSrc, tf.add(nodeIdx, offset), unmRow) as tf.Tensor2D;
    const rowB = tf.add(rangeRows(batch, nB), offset) as tf.Tensor2D;
    return { unmIdx, srcIdx, dstIdx, rowA, rowB };
  });
}
