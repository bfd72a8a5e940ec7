/**
 * MCTF: multi-criteria token fusion with one-step-ahead attention (Lee et al., "Multi-criteria Token
 * Fusion with One-step-ahead Attention for Efficient Vision Transformers", CVPR 2024).
 *
 * Slot: before attention, on the block input x (the residual stream). It reads the block's attention
 * probabilities `probs` [B, H, N, N] = softmax(q·kᵀ/√dh + log size), computed by the engine from LN1(x)
 * with the q and k parts of the qkv linear only. It merges x and hands on `attnNext` [B, H, N', N'],
 * the attention of the merged tokens, which the engine multiplies with V from LN1(x') instead of
 * computing attention again ("one-step-ahead").
 *
 * Matching (spec §6.4–6.5), on the token features x themselves (dim D, L2-normalised), not on keys:
 * - A = tokens 0, 2, 4, …, B = tokens 1, 3, 5, … of the current order; CLS is A row 0.
 * - score(i, j) = W_sim · W_info · W_size, each a product of the two tokens' criterion raised to 1/τ:
 *   W_sim = ((cos + 1)/2)^(1/τ_sim); W_info from the inverse attention each token receives (mean over heads
 *   and queries), scaled so its maximum is 1; W_size likewise from the inverse sizes. τ = 0 switches a
 *   criterion off (W = 1); W_size is 1 while no merge has happened yet. The CLS row is −∞.
 * - A→B: the r1 = ⌊r/2⌋ A tokens with the best score merge into their best B token (ToMe's rule).
 * - B→A (bidirection on): on the same scores restricted to the A tokens left, the r2 = r − r1 B tokens
 *   with the best score merge into their best remaining A token, carrying whatever they absorbed.
 *   One-directional: r1 = r, r2 = 0.
 *
 * Output order: [unmerged A (ascending index, CLS first; edge order without a class token), each with the
 * B tokens merged into it] then [the B tokens left, in descending best-score order, not re-sorted]
 * (one-directional: [unmerged A, all B in index order]).
 *
 * Pooling (`pooling`): 0 size-weighted mean, 1 (default) mean weighted by attention received × size,
 * 2 channel-wise max, 3 plain mean. The assignment's coefficient is the pooling weight divided by its
 * group's sum (for 2, the plain mean: the features come in `features`, the coefficient only serves views).
 * Sizes and lineage are summed. attnNext: keys summed over each group, then queries pooled with the same
 * weights (max for pooling 2), never re-softmaxed; rows sum to 1 for pooling 0, 1 and 3.
 *
 * Integer rules (utils/mctf.py, `mctf`): with t = N, if t − r < 10 then r = t − 10; r < 1 is a ratio,
 * r = int((t − protected)·r) (truncated, in double precision); then r = min(r, ⌊(t − protected)/2⌋),
 * protected = 1 (CLS). r ≤ 0 is the identity: for r = 0 the official code returns x unchanged and
 * recomputes attention, and for t < 10 (r negative) it fails; we return the identity assignment with
 * attnNext = probs (the attention of the unchanged tokens). Ties: the best match is the lowest index; sorted scores put the
 * lower index first (torch leaves both unspecified; the conformance cases avoid ties).
 *
 * Spec: ../shared/spec/token-reduction.md §6 (and §1.1 for FLOPs, §9.4 overhead, §10 item 9).
 * Official: mlvlab/MCTF utils/mctf.py@2004da0cad3231fa74cbd60b6042b0bd133aacde (mctf,
 * bipartite_soft_matching, merge_wavg, merge_source), models/modules/blocks.py for the slot.
 * Conformance: ../shared/conformance/cases/mctf (runner: ./conformance/mctf.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelsRunOnCpu } from '../model/ops';
import { applyAssignment, sumInto } from './assignment';
import { rowDots, splitAlternate } from './shared/matching';
import type { Assignment, Dims, ReduceInput, Reducer, Reduction } from './types';
import { fail } from '../errors';

/** 0 size-weighted mean, 1 attention × size weighted mean, 2 channel-wise max, 3 plain mean. */
export type MctfPooling = 0 | 1 | 2 | 3;

export interface MctfLayerParams {
  /** Tokens to merge at this layer: an integer ≥ 1, or a fraction of the unprotected tokens when < 1. */
  r: number;
  /** Temperature of the similarity criterion; 0 switches it off. */
  tauSim: number;
  /** Temperature of the informativeness criterion (attention received); 0 switches it off. */
  tauInfo: number;
  /** Temperature of the size criterion; 0 switches it off. */
  tauSize: number;
  /** Merge r/2 tokens A→B, then the rest B→A (true), or all r A→B (false). */
  bidirection: boolean;
  /** Hand on the merged attention (true), or let the engine recompute attention on the merged tokens. */
  oneStepAhead: boolean;
  pooling: MctfPooling;
}

/** The official evaluation config `mctf_type [16,0,0,1,1,1,20,40,1,1,0]` (run/eval_deit_*_mctf.sh). */
export const MCTF_DEFAULTS: MctfLayerParams = {
  r: 16,
  tauSim: 1,
  tauInfo: 20,
  tauSize: 40,
  bidirection: true,
  oneStepAhead: true,
  pooling: 1,
};

/**
 * The official r for a layer with `n` tokens (utils/mctf.py). May be ≤ 0: 0 means no merge, a negative
 * value is where the official code fails (n < 10); `reduce` treats both as the identity.
 */
export function mctfLayerR(n: number, r: number, numProtected: number): number {
  const guarded = n - r < 10 ? n - 10 : r;
  const unprotected = n - numProtected;
  const count = guarded < 1 ? Math.trunc(unprotected * guarded) : guarded;
  return Math.min(count, Math.floor(unprotected / 2)) + 0; // + 0 turns a truncated −0 into 0
}

/** Tokens at the front that never merge: CLS. */
function protectedCount(input: ReduceInput): number {
  if (input.distillToken) {
    fail(
      'plan-invalid',
      'MCTF has no distillation-token support (the official code would protect token 2, not the ' +
        'distillation token); run MCTF on a model without a distillation token',
    );
  }
  return input.classToken ? 1 : 0;
}

function checkParams(p: MctfLayerParams): void {
  if (p.r >= 1 && !Number.isInteger(p.r)) {
    fail('param-out-of-range', `MCTF r ${p.r} is neither a whole number of tokens nor a ratio below 1; try ${Math.trunc(p.r)}`);
  }
}

/**
 * The matching decided at one layer, as indices (all int32, caller disposes). A = tokens 0, 2, 4, …,
 * B = tokens 1, 3, 5, …; the field names follow utils/mctf.py.
 */
export interface MctfMatch {
  r: number;
  r1: number;
  r2: number;
  /** [B, t1 − r1] unmerged A tokens (indices into A), ascending with a class token, else edge order. */
  unmIdx: tf.Tensor2D;
  /** [B, r1] A tokens merged A→B (indices into A), best score first. */
  srcIdx: tf.Tensor2D;
  /** [B, r1] their B targets (indices into B). */
  dstIdx: tf.Tensor2D;
  /** The B→A step; absent when one-directional. */
  second?: {
    /** [B, t2 − r2] B tokens left (indices into B), descending best score: their output order. */
    unmIdx: tf.Tensor2D;
    /** [B, r2] B tokens merged B→A (indices into B), best score first. */
    srcIdx: tf.Tensor2D;
    /** [B, r2] their targets, as positions in `unmIdx`. */
    dstIdx: tf.Tensor2D;
  };
}

/**
 * Per-image rows: values [B, M, …] and idx [B, K] → [B, K, …]. Written as one flat gather because the
 * wasm backend's gather with batchDims reads the wrong indices when B > 1 (tfjs 4.22,
 * tensorflow/tfjs#8658).
 */
function gatherRows<T extends tf.Tensor>(values: T, idx: tf.Tensor2D): T {
  const [batch, m, ...rest] = values.shape;
  const k = idx.shape[1];
  const offsets = tf.reshape(tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(m, 'int32')), [batch, 1]);
  const flatIdx = tf.reshape(tf.add(idx, offsets), [batch * k]);
  const flatValues = tf.reshape(values, [batch * m, ...rest]);
  // GatherNd copies whole rows; the wasm GatherV2 walks element by element (0.45 ms vs ~0.05 ms for
  // 99 rows of [197, 192])
  const rows = kernelsRunOnCpu() ? tf.gatherND(flatValues, tf.reshape(flatIdx, [batch * k, 1])) : tf.gather(flatValues, flatIdx, 0);
  return tf.reshape(rows, [batch, k, ...rest]) as T;
}

/** (u_i · v_j)^(1/τ) for [B, t1] and [B, t2] criteria → [B, t1, t2]. */
function pairCriterion(a: tf.Tensor2D, b: tf.Tensor2D, tau: number): tf.Tensor3D {
  const product = tf.mul(tf.expandDims(a, 2), tf.expandDims(b, 1)) as tf.Tensor3D;
  return tau === 1 ? product : (tf.pow(product, tf.scalar(1 / tau)) as tf.Tensor3D);
}

/** 1/v scaled so its maximum over the tokens is 1: [B, N] → [B, N]. */
function inverseToUnitMax(v: tf.Tensor2D): tf.Tensor2D {
  const inverse = tf.reciprocal(v);
  return tf.div(inverse, tf.max(inverse, 1, true)) as tf.Tensor2D;
}

/** Attention each token receives: mean over heads and queries. [B, H, N, N] → [B, N]. */
export function attentionReceived(probs: tf.Tensor4D): tf.Tensor2D {
  const [batch, heads, n, k] = probs.shape;
  if (batch === 1 && kernelsRunOnCpu()) {
    // column sums as one 2-D matmul; a mean over two middle axes transposes first on wasm (0.5 ms
    // for [1, 3, 197, 197]); the same sums here
    return tf.div(tf.matMul(tf.ones([1, heads * n]), tf.reshape(probs, [heads * n, k])), heads * n) as tf.Tensor2D;
  }
  return tf.mean(probs, [1, 2]) as tf.Tensor2D;
}

/** Multi-criteria scores [B, t1, t2] of A rows against B columns; protected A rows are −∞. */
function matchScores(input: ReduceInput, p: MctfLayerParams, numProtected: number): tf.Tensor3D {
  const x = input.x;
  // x / ‖x‖ (square, not tf.norm's pow: the same numbers, 0.34 ms less per layer on wasm)
  const unit = tf.div(x, tf.sqrt(tf.sum(tf.square(x), 2, true))) as tf.Tensor3D; // [B, N, D]
  const [a, b] = splitAlternate(unit);
  let scores: tf.Tensor3D;
  if (p.tauSim) {
    const cos = rowDots(a, b); // [B, t1, t2]
    const sim = tf.div(tf.add(cos, tf.scalar(1)), tf.scalar(2)) as tf.Tensor3D;
    scores = p.tauSim === 1 ? sim : (tf.pow(sim, tf.scalar(1 / p.tauSim)) as tf.Tensor3D);
  } else {
    scores = tf.ones([a.shape[0], a.shape[1], b.shape[1]]);
  }
  if (p.tauInfo > 0 && input.attention.probs) {
    const info = inverseToUnitMax(attentionReceived(input.attention.probs));
    const [infoA, infoB] = splitAlternate(tf.expandDims(info, 2) as tf.Tensor3D);
    scores = tf.mul(scores, pairCriterion(tf.squeeze(infoA, [2]), tf.squeeze(infoB, [2]), p.tauInfo));
  }
  if (p.tauSize && input.sizeIsTracked) {
    const small = inverseToUnitMax(tf.squeeze(input.size, [2]) as tf.Tensor2D);
    const [smallA, smallB] = splitAlternate(tf.expandDims(small, 2) as tf.Tensor3D);
    scores = tf.mul(scores, pairCriterion(tf.squeeze(smallA, [2]), tf.squeeze(smallB, [2]), p.tauSize));
  }
  if (numProtected > 0) {
    // −∞ on the protected rows by adding a bias column (−∞ + s = −∞, 0 + s = s): a broadcast
    // tf.where tiles its operands, which costs 0.7 ms here on wasm
    const t1 = scores.shape[1];
    scores = tf.add(scores, tf.tensor3d(Float32Array.from({ length: t1 }, (_, i) => (i < numProtected ? -Infinity : 0)), [1, t1, 1]));
  }
  return scores;
}

/** Indices of `values` [B, M] from largest to smallest (lower index first on ties). */
function descendingOrder(values: tf.Tensor2D): tf.Tensor2D {
  return tf.topk(values, values.shape[1], true).indices as tf.Tensor2D;
}

/** Small non-negative int32 indices [B, K] sorted ascending (exact through float32). */
function sortAscending(indices: tf.Tensor2D): tf.Tensor2D {
  const negated = tf.neg(tf.cast(indices, 'float32')) as tf.Tensor2D;
  return tf.cast(tf.neg(tf.topk(negated, indices.shape[1], true).values), 'int32') as tf.Tensor2D;
}

function columns(t: tf.Tensor2D, begin: number, size: number): tf.Tensor2D {
  return tf.slice(t, [0, begin], [t.shape[0], size]);
}

/** Bipartite matching on the scores, both directions (utils/mctf.py, bipartite_soft_matching). */
function bipartiteMatch(scores: tf.Tensor3D, r: number, bidirection: boolean, numProtected: number): MctfMatch {
  const [, t1, t2] = scores.shape;
  const r1 = bidirection ? Math.floor(r / 2) : r;
  const r2 = r - r1;
  const nodeMax = tf.max(scores, 2) as tf.Tensor2D; // [B, t1]
  const nodeIdx = tf.cast(tf.argMax(scores, 2), 'int32') as tf.Tensor2D;
  const edgeIdx = descendingOrder(nodeMax);
  const srcIdx = columns(edgeIdx, 0, r1);
  const unmEdge = columns(edgeIdx, r1, t1 - r1);
  const unmIdx = numProtected > 0 ? sortAscending(unmEdge) : unmEdge;
  const dstIdx = gatherRows(nodeIdx, srcIdx);
  if (!bidirection) return { r, r1, r2, unmIdx, srcIdx, dstIdx };

  // Same scores, rows restricted to the A tokens left, best A per B column.
  const left = gatherRows(scores, unmIdx); // [B, t1 − r1, t2]
  const nodeMax2 = tf.max(left, 1) as tf.Tensor2D; // [B, t2]
  const nodeIdx2 = tf.cast(tf.argMax(left, 1), 'int32') as tf.Tensor2D;
  const edgeIdx2 = descendingOrder(nodeMax2);
  const srcIdx2 = columns(edgeIdx2, 0, r2);
  const second = {
    unmIdx: columns(edgeIdx2, r2, t2 - r2),
    srcIdx: srcIdx2,
    dstIdx: gatherRows(nodeIdx2, srcIdx2),
  };
  return { r, r1, r2, unmIdx, srcIdx, dstIdx, second };
}

/**
 * out[b, indices[b, k]] = rows[b, k] for indices [B, K] that list every one of m slots once.
 * A one-hot sum, so it runs on every backend.
 */
function scatterRows(indices: tf.Tensor2D, rows: tf.Tensor2D, m: number): tf.Tensor2D {
  const [batch, k] = indices.shape;
  if (kernelsRunOnCpu()) {
    // one ScatterNd (on wasm a broadcast Equal costs ~0.55 ms for [99, 99])
    const flat = tf.add(indices, tf.reshape(tf.range(0, batch * m, m, 'int32'), [batch, 1]));
    return tf.reshape(tf.scatterND(tf.reshape(flat, [batch * k, 1]), tf.reshape(rows, [batch * k]), [batch * m]), [batch, m]) as tf.Tensor2D;
  }
  // Summed over the last axis: WebGPU transposes an int32 reduction over a middle axis with a
  // shader that does not compile (tfjs 4.22).
  const hits = tf.cast(tf.equal(tf.reshape(tf.range(0, m, 1, 'int32'), [1, m, 1]), tf.expandDims(indices, 1)), 'int32'); // [B, m, K]
  return tf.sum(tf.mul(hits, tf.expandDims(rows, 1)), 2) as tf.Tensor2D;
}

function positions(batch: number, count: number, offset: number): tf.Tensor2D {
  return tf.tile(tf.expandDims(tf.range(offset, offset + count, 1, 'int32'), 0), [batch, 1]) as tf.Tensor2D;
}

/** Output row of every input token: [B, N] int32, rows 0 … N − r − 1. */
function matchTargets(match: MctfMatch, n: number): tf.Tensor2D {
  const batch = match.unmIdx.shape[0];
  const t1 = Math.ceil(n / 2);
  const t2 = n - t1;
  const nUnm = t1 - match.r1;
  let targetB: tf.Tensor2D; // [B, t2]
  if (match.second) {
    const { unmIdx, srcIdx, dstIdx } = match.second;
    const listed = tf.concat([srcIdx, unmIdx], 1) as tf.Tensor2D;
    const rows = tf.concat([dstIdx, positions(batch, t2 - match.r2, nUnm)], 1) as tf.Tensor2D;
    targetB = scatterRows(listed, rows, t2);
  } else {
    targetB = positions(batch, t2, nUnm);
  }
  const listedA = tf.concat([match.unmIdx, match.srcIdx], 1) as tf.Tensor2D;
  const rowsA = tf.concat([positions(batch, nUnm, 0), gatherRows(targetB, match.dstIdx)], 1) as tf.Tensor2D;
  const targetA = scatterRows(listedA, rowsA, t1);
  // Interleave back to token order: token 2i is A[i], token 2i + 1 is B[i].
  const tokenOrder = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? i / 2 : t1 + (i - 1) / 2));
  return tf.gather(tf.concat([targetA, targetB], 1), tf.tensor1d(tokenOrder, 'int32'), 1) as tf.Tensor2D;
}

/** Per-token pooling weight [B, N] before normalisation within each group. */
function poolingWeights(input: ReduceInput, pooling: MctfPooling): tf.Tensor2D {
  const size = tf.squeeze(input.size, [2]) as tf.Tensor2D;
  if (pooling === 0) return size;
  if (pooling === 1) {
    // w = a · size / max(size); max(size) cancels once w is normalised within a group.
    return tf.mul(attentionReceived(input.attention.probs as tf.Tensor4D), size) as tf.Tensor2D;
  }
  return tf.onesLike(size);
}

/**
 * Each input's weight divided by its group's total: [B, N] → [B, N]. (Not assignment.ts's
 * weightedMeanCoeffs, whose batchDims gather hits the wasm bug above when B > 1.)
 */
function groupMeanCoeffs(target: tf.Tensor2D, weights: tf.Tensor2D, nOut: number): tf.Tensor2D {
  const grouping: Assignment = { target, coeff: tf.onesLike(weights), nOut };
  const groupSums = sumInto(grouping, tf.expandDims(weights, 2) as tf.Tensor3D); // [B, nOut, 1]
  const perInput = tf.squeeze(gatherRows(groupSums, target), [2]); // [B, N]
  return tf.div(weights, perInput) as tf.Tensor2D;
}

/** out[m] = max(dst[m], max of src[k] with idx[k] = m), channel-wise. [B,M,C], [B,K,C], [B,K] → [B,M,C]. */
function maxInto(dst: tf.Tensor3D, src: tf.Tensor3D, idx: tf.Tensor2D): tf.Tensor3D {
  if (src.shape[1] === 0) return dst;
  const m = dst.shape[1];
  // Compared, not one-hot + transpose: WebGPU cannot transpose int32 tensors (tfjs 4.22).
  const member = tf.equal(tf.reshape(tf.range(0, m, 1, 'int32'), [1, m, 1]), tf.expandDims(idx, 1)); // [B, M, K]
  const candidates = tf.where(tf.expandDims(member, 3), tf.expandDims(src, 1), tf.scalar(-Infinity));
  return tf.maximum(dst, tf.max(candidates, 2)) as tf.Tensor3D;
}

/** Channel-wise max over each group, in output order: [B, N, C] → [B, N − r, C]. */
export function maxMerge(match: MctfMatch, values: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [a, b] = splitAlternate(values);
    const unm = gatherRows(a, match.unmIdx);
    const bMerged = maxInto(b, gatherRows(a, match.srcIdx), match.dstIdx);
    if (!match.second) return tf.concat([unm, bMerged], 1) as tf.Tensor3D;
    const { unmIdx, srcIdx, dstIdx } = match.second;
    const aMerged = maxInto(unm, gatherRows(bMerged, srcIdx), dstIdx);
    return tf.concat([aMerged, gatherRows(bMerged, unmIdx)], 1) as tf.Tensor3D;
  });
}

/**
 * One-step-ahead attention [B, H, N', N']: keys summed over each group, then queries pooled with the
 * assignment's coefficients (a weighted mean), or by max for pooling 2.
 */
function mergeAttention(probs: tf.Tensor4D, assignment: Assignment, match: MctfMatch, pooling: MctfPooling): tf.Tensor4D {
  const [batch, heads, n] = probs.shape;
  const nOut = assignment.nOut;
  // keys to axis 1: [B, K, H·Q] → summed → [B, K', H, Q]
  const byKey = tf.reshape(tf.transpose(probs, [0, 3, 1, 2]), [batch, n, heads * n]) as tf.Tensor3D;
  const keysMerged = tf.reshape(sumInto(assignment, byKey), [batch, nOut, heads, n]);
  // queries to axis 1: [B, Q, H·K'] → pooled → [B, Q', H, K']
  const byQuery = tf.reshape(tf.transpose(keysMerged, [0, 3, 2, 1]), [batch, n, heads * nOut]) as tf.Tensor3D;
  const pooled = pooling === 2 ? maxMerge(match, byQuery) : applyAssignment(assignment, byQuery);
  return tf.transpose(tf.reshape(pooled, [batch, nOut, heads, nOut]), [0, 2, 1, 3]) as tf.Tensor4D;
}

function identityAssignment(batch: number, n: number): Assignment {
  return { target: tf.tidy(() => positions(batch, n, 0)), coeff: tf.ones([batch, n]), nOut: n };
}

/**
 * The matching MCTF decides for `input` (caller disposes), or null when the layer merges nothing
 * (r ≤ 0 by the official rule). Exposed for the conformance runner and views.
 */
export function mctfMatch(input: ReduceInput, p: MctfLayerParams): MctfMatch | null {
  checkParams(p);
  const numProtected = protectedCount(input);
  const r = mctfLayerR(input.x.shape[1], p.r, numProtected);
  if (r <= 0) return null;
  const tensors = tf.tidy(() => {
    const m = bipartiteMatch(matchScores(input, p, numProtected), r, p.bidirection, numProtected);
    return m.second
      ? [m.unmIdx, m.srcIdx, m.dstIdx, m.second.unmIdx, m.second.srcIdx, m.second.dstIdx]
      : [m.unmIdx, m.srcIdx, m.dstIdx];
  }) as tf.Tensor2D[];
  const [unmIdx, srcIdx, dstIdx, unmIdx2, srcIdx2, dstIdx2] = tensors;
  const r1 = p.bidirection ? Math.floor(r / 2) : r;
  const match: MctfMatch = { r, r1, r2: r - r1, unmIdx, srcIdx, dstIdx };
  if (p.bidirection) match.second = { unmIdx: unmIdx2, srcIdx: srcIdx2, dstIdx: dstIdx2 };
  return match;
}

export function disposeMatch(match: MctfMatch): void {
  tf.dispose([match.unmIdx, match.srcIdx, match.dstIdx]);
  if (match.second) tf.dispose([match.second.unmIdx, match.second.srcIdx, match.second.dstIdx]);
}

/** Assignment, features (max pooling only) and attnNext (one-step-ahead only) of a decided match. */
export function applyMatch(input: ReduceInput, p: MctfLayerParams, match: MctfMatch): Reduction {
  const n = input.x.shape[1];
  const nOut = n - match.r;
  const out = tf.tidy(() => {
    const target = matchTargets(match, n);
    const coeff = groupMeanCoeffs(target, poolingWeights(input, p.pooling), nOut);
    const assignment = { target, coeff, nOut };
    const probs = input.attention.probs as tf.Tensor4D;
    return {
      target,
      coeff,
      features: p.pooling === 2 ? maxMerge(match, input.x) : undefined,
      attnNext: p.oneStepAhead ? mergeAttention(probs, assignment, match, p.pooling) : undefined,
    };
  });
  const reduction: Reduction = { assignment: { target: out.target, coeff: out.coeff, nOut } };
  if (out.features) reduction.features = out.features;
  if (out.attnNext) reduction.attnNext = out.attnNext;
  return reduction;
}

function reduce(input: ReduceInput, p: MctfLayerParams): Reduction {
  if (!input.attention.probs && (p.oneStepAhead || p.pooling === 1 || p.tauInfo > 0)) {
    fail('internal', 'MCTF needs the attention probabilities of its block (needs: probs)');
  }
  const match = mctfMatch(input, p);
  if (!match) {
    // Nothing merges: the attention of the unchanged tokens is the block's own.
    const identity: Reduction = { assignment: identityAssignment(input.x.shape[0], input.x.shape[1]) };
    if (p.oneStepAhead) identity.attnNext = tf.clone(input.attention.probs as tf.Tensor4D);
    return identity;
  }
  try {
    return applyMatch(input, p, match);
  } finally {
    disposeMatch(match);
  }
}

/** Cosine similarity of ⌈N/2⌉ A tokens against ⌊N/2⌋ B tokens on D channels (spec §6.7); 0 when idle. */
function overheadFlops(nIn: number, dims: Dims, p: MctfLayerParams): number {
  if (mctfLayerR(nIn, p.r, 1) <= 0) return 0;
  return Math.ceil(nIn / 2) * Math.floor(nIn / 2) * dims.hidden;
}

export const mctf: Reducer<MctfLayerParams> = {
  id: 'mctf',
  label: 'MCTF',
  slot: 'beforeAttention',
  kind: 'merge',
  needs: ['probs'],
  reduce,
  overheadFlops,
};
