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
 * Matching (docs/METHODS.md#mctf), on the token features x themselves (dim D, L2-normalised), not on keys:
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
 * Paths: on the CPU backends the decision runs in host memory (below); on WebGPU and WebGL, once the
 * device has passed their check, as our own programs (webgpu/mctf-fused.ts, webgl/mctf-fused.ts,
 * sharing shared/mctf-programs.ts: criteria, matching, coefficients, merged attention, a handful of
 * dispatches a layer on WebGPU, about a dozen on WebGL), except when evidence is asked for;
 * elsewhere as generic TF.js ops, the reference the others are checked against.
 *
 * Documented in docs/METHODS.md#mctf (FLOPs: #flops). Official: mlvlab/MCTF utils/mctf.py@2004da0cad3231fa74cbd60b6042b0bd133aacde (mctf,
 * bipartite_soft_matching, merge_wavg, merge_source), models/modules/blocks.py for the slot.
 * Conformance: tests/fixtures/conformance/cases/mctf (runner: ./conformance/mctf.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelsRunOnCpu } from '../tokens/kernel-paths';
import { applyAssignment, sumInto } from '../tokens/assignment';
import { gatherRows } from '../tokens/gather-rows';
import { argsortDescendingHost, identityAssignment, interleaveColumns, meanCoeffsHost, rowDots, splitAlternate } from './shared/matching';
import { evidenceOf, stackImages } from '../tokens/evidence';
import type { Assignment, EvidenceTensors, ReduceInput, Reduction } from '../tokens/types';
import type { Dims, Reducer } from './types';
import { fail } from '../errors';
import { fusedFamilyOn } from '../tokens/webgpu/kernel-status';
import { MCTF_WGSL_PROGRAMS } from './webgpu/mctf-fused';
import { MCTF_GL_PROGRAMS } from './webgl/mctf-fused';
import {
  applyDecision,
  matchFromDecision,
  mctfDecideByPrograms,
  mctfProgramsFit,
  reduceByPrograms,
  type MctfDeviceDecision,
  type MctfPrograms,
} from './shared/mctf-programs';

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

/** The layer's r by the official rule (≤ 0: no merge) and its protected token count. */
function layerR(input: ReduceInput, p: MctfLayerParams): { r: number; numProtected: number } {
  checkParams(p);
  const numProtected = protectedCount(input);
  return { r: mctfLayerR(input.x.shape[1], p.r, numProtected), numProtected };
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
  /** The same decision in host memory (CPU backends), which `applyMatch` then builds on. */
  host?: HostDecision;
  /** The same decision as our WebGPU or WebGL programs left it (shared/mctf-programs.ts), which `applyMatch` then builds on. */
  device?: MctfDeviceDecision;
  /** What the decision rested on, when asked for (`ReduceInput.evidence`; see `mctfEvidence`). */
  scores?: MctfScoreEvidence;
}

/**
 * The numbers behind an MCTF decision, [B, …] each: per token the informativeness and size criteria
 * (powered by 1/τ, as multiplied into the scores) and the attention it receives; per A token its
 * best combined score, that B partner, the similarity factor of that edge and the edge order; per
 * B token (bidirectional) its best score among the A tokens left and that partner, as a position
 * in the unmerged A list.
 */
export interface MctfScoreEvidence {
  received?: tf.Tensor2D;
  info?: tf.Tensor2D;
  sizeCriterion?: tf.Tensor2D;
  bestScore: tf.Tensor2D;
  bestPartner: tf.Tensor2D;
  bestSimilarity?: tf.Tensor2D;
  edgeOrder: tf.Tensor2D;
  bestScore2?: tf.Tensor2D;
  bestPartner2?: tf.Tensor2D;
}

/**
 * (u_i · v_j)^(1/τ) for a per-token criterion [B, N] → [B, t1, t2] of A rows and B columns, as
 * u_i^(1/τ) · v_j^(1/τ): the same value up to float32 rounding, with N powers instead of t1·t2.
 */
function pairCriterion(powered: tf.Tensor2D): tf.Tensor3D {
  const [a, b] = splitAlternate(tf.expandDims(powered, 2) as tf.Tensor3D); // [B, t1, 1], [B, t2, 1]
  return tf.mul(a, tf.reshape(b, [b.shape[0], 1, b.shape[1]])) as tf.Tensor3D;
}

/** A per-token criterion v [B, N] raised to 1/τ. */
function powerOf(v: tf.Tensor2D, tau: number): tf.Tensor2D {
  return tau === 1 ? v : (tf.pow(v, tf.scalar(1 / tau)) as tf.Tensor2D);
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
    // one mean over the rows of the 2-D [H·N, N]: on wasm 0.07 ms for fresh [447, 149] probabilities,
    // where a ones-row matmul packs them first (0.19 ms) and a mean over two middle axes of the 4-D
    // tensor takes 0.5 ms for [1, 3, 197, 197]
    return tf.reshape(tf.mean(tf.reshape(probs, [heads * n, k]), 0), [1, k]) as tf.Tensor2D;
  }
  return tf.mean(probs, [1, 2]) as tf.Tensor2D;
}

/** Cosine similarity [B, t1, t2] of the A tokens against the B tokens of x [B, N, D]. */
function cosineAB(x: tf.Tensor3D): tf.Tensor3D {
  // x / ‖x‖ (square, not tf.norm's pow: the same numbers, 0.34 ms less per layer on wasm)
  const unit = tf.div(x, tf.sqrt(tf.sum(tf.square(x), 2, true))) as tf.Tensor3D; // [B, N, D]
  return rowDots(...splitAlternate(unit));
}

/**
 * `cosineAB` of one image [1, N, D] as [t1, t2], by the same kernels on the same numbers with the
 * 2-D shapes kept between them: 5 reshapes fewer (each a kernel call, ~5 µs on wasm).
 */
function cosineABOneImage(x: tf.Tensor3D): tf.Tensor2D {
  const [, n, d] = x.shape;
  const unit = tf.reshape(tf.div(x, tf.sqrt(tf.sum(tf.square(x), 2, true))), [n, d]) as tf.Tensor2D;
  const rows = (first: number) => {
    const at = Int32Array.from({ length: Math.ceil((n - first) / 2) }, (_, i) => first + 2 * i);
    return tf.gatherND(unit, tf.tensor2d(at, [at.length, 1], 'int32')) as tf.Tensor2D;
  };
  return tf.matMul(rows(0), tf.transpose(rows(1)));
}

/** The scores and the factors they are made of (what `MctfScoreEvidence` reports). */
interface ScoreParts {
  scores: tf.Tensor3D;
  /** [B, t1, t2] the similarity factor ((cos + 1)/2)^(1/τ_sim), when on. */
  sim?: tf.Tensor3D;
  received?: tf.Tensor2D;
  info?: tf.Tensor2D;
  sizeCriterion?: tf.Tensor2D;
}

/** Multi-criteria scores [B, t1, t2] of A rows against B columns, protected A rows −∞, with their factors. */
function matchScores(input: ReduceInput, p: MctfLayerParams, numProtected: number): ScoreParts {
  const [batch, n] = input.x.shape;
  const parts: Partial<ScoreParts> = {};
  let scores: tf.Tensor3D;
  if (p.tauSim) {
    const sim = tf.div(tf.add(cosineAB(input.x), tf.scalar(1)), tf.scalar(2)) as tf.Tensor3D;
    scores = parts.sim = p.tauSim === 1 ? sim : (tf.pow(sim, tf.scalar(1 / p.tauSim)) as tf.Tensor3D);
  } else {
    scores = tf.ones([batch, Math.ceil(n / 2), Math.floor(n / 2)]);
  }
  if (input.attention.probs && (p.tauInfo > 0 || input.evidence)) parts.received = attentionReceived(input.attention.probs);
  if (p.tauInfo > 0 && parts.received) {
    parts.info = powerOf(inverseToUnitMax(parts.received), p.tauInfo);
    scores = tf.mul(scores, pairCriterion(parts.info));
  }
  if (p.tauSize && input.sizeIsTracked) {
    parts.sizeCriterion = powerOf(inverseToUnitMax(tf.squeeze(input.size, [2]) as tf.Tensor2D), p.tauSize);
    scores = tf.mul(scores, pairCriterion(parts.sizeCriterion));
  }
  if (numProtected > 0) {
    // −∞ on the protected rows by adding a bias column (−∞ + s = −∞, 0 + s = s): a broadcast
    // tf.where tiles its operands, which costs 0.7 ms here on wasm
    const t1 = scores.shape[1];
    scores = tf.add(
      scores,
      tf.tensor3d(
        Float32Array.from({ length: t1 }, (_, i) => (i < numProtected ? -Infinity : 0)),
        [1, t1, 1],
      ),
    );
  }
  return { ...parts, scores };
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
  const scoreEvidence: MctfScoreEvidence = { bestScore: nodeMax, bestPartner: nodeIdx, edgeOrder: edgeIdx };
  if (!bidirection) return { r, r1, r2, unmIdx, srcIdx, dstIdx, scores: scoreEvidence };

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
  return { r, r1, r2, unmIdx, srcIdx, dstIdx, second, scores: { ...scoreEvidence, bestScore2: nodeMax2, bestPartner2: nodeIdx2 } };
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
  return interleaveColumns(targetA, targetB); // token 2i is A[i], token 2i + 1 is B[i]
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

/*
 * The decision in host memory (CPU backends; see "Decisions in host memory" in shared/matching.ts).
 * The cosines and the attention received come from device as on the device path, then per image the
 * criteria, both matching steps, the output rows and the pooling coefficients are plain JS: about
 * 150 small kernels per layer fewer on wasm. Float steps are float32 operations in the device order
 * (a Float32Array store rounds like Math.fround); the criteria's powers use Math.pow, which may differ
 * from a backend's pow by one float32 ulp, as backends differ among themselves.
 */

/** What the host decision reads from device, image after image. */
interface HostReads {
  /** [B, t1, t2] cosines of A rows against B columns; absent when τ_sim = 0. */
  cos?: Float32Array;
  /** [B, N] attention each token receives, when a criterion or the pooling needs it. */
  received?: Float32Array;
  /** [B, N] token sizes, when a criterion or the pooling needs them. */
  size?: Float32Array;
}

/** One image's matching (fields as in `MctfMatch`) and the output row of each of its tokens. */
interface HostImageMatch {
  unmIdx: Int32Array;
  srcIdx: Int32Array;
  dstIdx: Int32Array;
  second?: { unmIdx: Int32Array; srcIdx: Int32Array; dstIdx: Int32Array };
  target: Int32Array;
  /** `MctfScoreEvidence` of this image, when asked for. */
  scores?: Record<string, Float32Array | Int32Array>;
}

export interface HostDecision {
  r: number;
  r1: number;
  r2: number;
  reads: HostReads;
  images: HostImageMatch[];
}

function readBack(make: () => tf.Tensor): Float32Array {
  const t = tf.tidy(make);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

function readForHost(input: ReduceInput, p: MctfLayerParams): HostReads {
  const probs = input.attention.probs;
  const reads: HostReads = {};
  if (p.tauSim) reads.cos = readBack(() => (input.x.shape[0] === 1 ? cosineABOneImage(input.x) : cosineAB(input.x)));
  if (probs && (p.tauInfo > 0 || p.pooling === 1 || input.evidence)) reads.received = readBack(() => attentionReceived(probs));
  if ((p.tauSize && input.sizeIsTracked) || p.pooling === 0 || p.pooling === 1) reads.size = input.size.dataSync() as Float32Array;
  return reads;
}

/** `inverseToUnitMax` of values[offset … offset + n − 1], then the power 1/τ: [N]. */
function tokenCriterion(values: Float32Array, offset: number, n: number, tau: number): Float32Array {
  const out = new Float32Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    out[i] = 1 / values[offset + i];
    max = Math.max(max, out[i]);
  }
  const exponent = Math.fround(1 / tau);
  for (let i = 0; i < n; i++) out[i] = tau === 1 ? out[i] / max : Math.pow(Math.fround(out[i] / max), exponent);
  return out;
}

/** The A and B entries (tokens 2i and 2j + 1) of a per-token vector. */
function halves(v: Float32Array): [Float32Array, Float32Array] {
  return [v.filter((_, i) => i % 2 === 0), v.filter((_, i) => i % 2 === 1)];
}

/** `matchScores` for image b: [t1 · t2] row-major, protected A rows −∞. One pass, factors in device order. */
function hostScores(
  reads: HostReads,
  input: ReduceInput,
  p: MctfLayerParams,
  numProtected: number,
  b: number,
): { scores: Float32Array; factors?: Record<string, Float32Array> } {
  const n = input.x.shape[1];
  const [t1, t2] = [Math.ceil(n / 2), Math.floor(n / 2)];
  const f32 = Math.fround;
  const cos = reads.cos;
  const simExponent = p.tauSim === 1 ? 1 : f32(1 / p.tauSim);
  const info = p.tauInfo > 0 && reads.received ? tokenCriterion(reads.received, b * n, n, p.tauInfo) : null;
  const sizeCriterion = p.tauSize && input.sizeIsTracked ? tokenCriterion(reads.size!, b * n, n, p.tauSize) : null;
  const [infoA, infoB] = info ? halves(info) : [null, null];
  const [sizeA, sizeB] = sizeCriterion ? halves(sizeCriterion) : [null, null];
  const sim = input.evidence && cos ? new Float32Array(t1 * t2).fill(-Infinity) : null; // the similarity factor (−∞ on protected rows), for the evidence
  const scores = new Float32Array(t1 * t2).fill(-Infinity);
  for (let i = numProtected; i < t1; i++) {
    for (let j = 0, k = i * t2; j < t2; j++, k++) {
      let score = 1;
      if (cos) {
        score = f32(f32(cos[b * t1 * t2 + k] + 1) / 2);
        if (simExponent !== 1) score = f32(Math.pow(score, simExponent));
        if (sim) sim[k] = score;
      }
      if (infoA) score = f32(score * f32(infoA[i] * infoB![j]));
      if (sizeA) score = f32(score * f32(sizeA[i] * sizeB![j]));
      scores[k] = score;
    }
  }
  if (!input.evidence) return { scores };
  const factors: Record<string, Float32Array> = {};
  if (sim) factors.sim = sim;
  if (reads.received) factors.received = reads.received.slice(b * n, (b + 1) * n);
  if (info) factors.info = info;
  if (sizeCriterion) factors.sizeCriterion = sizeCriterion;
  return { scores, factors };
}

/** `bipartiteMatch` and `matchTargets` for one image's scores [t1 · t2]; ties go to the first index. */
function hostMatchImage(
  { scores, factors }: { scores: Float32Array; factors?: Record<string, Float32Array> },
  t1: number,
  t2: number,
  d: { r1: number; r2: number },
  bidirection: boolean,
  sortUnmerged: boolean,
): HostImageMatch {
  const nodeMax = new Float32Array(t1).fill(-Infinity); // each A row's best B
  const nodeIdx = new Int32Array(t1);
  for (let i = 0; i < t1; i++) {
    for (let j = 0, k = i * t2; j < t2; j++, k++) {
      if (scores[k] > nodeMax[i]) {
        nodeMax[i] = scores[k];
        nodeIdx[i] = j;
      }
    }
  }
  const edge = argsortDescendingHost(nodeMax);
  const srcIdx = edge.slice(0, d.r1);
  const unmIdx = sortUnmerged ? edge.slice(d.r1).sort() : edge.slice(d.r1);
  const dstIdx = srcIdx.map((a) => nodeIdx[a]);
  const nUnm = unmIdx.length;
  const targetB = Int32Array.from({ length: t2 }, (_, j) => nUnm + j);
  let second: HostImageMatch['second'];
  let best2: { bestScore2: Float32Array; bestPartner2: Int32Array } | undefined;
  if (bidirection) {
    // each B column's best among the A rows left, as a position in unmIdx (row by row: the first wins)
    const nodeMax2 = new Float32Array(t2).fill(-Infinity);
    const nodeIdx2 = new Int32Array(t2);
    unmIdx.forEach((a, pos) => {
      for (let j = 0, k = a * t2; j < t2; j++, k++) {
        if (scores[k] > nodeMax2[j]) {
          nodeMax2[j] = scores[k];
          nodeIdx2[j] = pos;
        }
      }
    });
    best2 = { bestScore2: nodeMax2, bestPartner2: nodeIdx2 };
    const edge2 = argsortDescendingHost(nodeMax2);
    const src2 = edge2.slice(0, d.r2);
    second = { unmIdx: edge2.slice(d.r2), srcIdx: src2, dstIdx: src2.map((j) => nodeIdx2[j]) };
    second.unmIdx.forEach((j, k) => (targetB[j] = nUnm + k));
    src2.forEach((j, k) => (targetB[j] = second!.dstIdx[k]));
  }
  const target = new Int32Array(t1 + t2);
  unmIdx.forEach((a, k) => (target[2 * a] = k));
  srcIdx.forEach((a, k) => (target[2 * a] = targetB[dstIdx[k]]));
  targetB.forEach((row, j) => (target[2 * j + 1] = row));
  if (!factors) return { unmIdx, srcIdx, dstIdx, second, target };
  const { sim, ...perToken } = factors;
  const scoresOut: Record<string, Float32Array | Int32Array> = { ...perToken, bestScore: nodeMax, bestPartner: nodeIdx, edgeOrder: edge, ...best2 };
  if (sim) scoresOut.bestSimilarity = Float32Array.from(nodeIdx, (j, i) => sim[i * t2 + j]);
  return { unmIdx, srcIdx, dstIdx, second, target, scores: scoresOut };
}

function decideOnHost(input: ReduceInput, p: MctfLayerParams, r: number, numProtected: number): HostDecision {
  const [batch, n] = input.x.shape;
  const r1 = p.bidirection ? Math.floor(r / 2) : r;
  const d = { r, r1, r2: r - r1 };
  const reads = readForHost(input, p);
  const images = Array.from({ length: batch }, (_, b) =>
    hostMatchImage(hostScores(reads, input, p, numProtected, b), Math.ceil(n / 2), Math.floor(n / 2), d, p.bidirection, numProtected > 0),
  );
  return { ...d, reads, images };
}

/** [B, K] int32 of one field of every image. */
function stackRows(images: HostImageMatch[], pick: (m: HostImageMatch) => Int32Array): tf.Tensor2D {
  const k = pick(images[0]).length;
  const data = new Int32Array(images.length * k);
  images.forEach((m, b) => data.set(pick(m), b * k));
  return tf.tensor2d(data, [images.length, k], 'int32');
}

/** The decision as index tensors (caller disposes). */
function matchFromHost(host: HostDecision): MctfMatch {
  const { images } = host;
  const match: MctfMatch = {
    r: host.r,
    r1: host.r1,
    r2: host.r2,
    unmIdx: stackRows(images, (m) => m.unmIdx),
    srcIdx: stackRows(images, (m) => m.srcIdx),
    dstIdx: stackRows(images, (m) => m.dstIdx),
    host,
  };
  if (images[0].second) {
    match.second = {
      unmIdx: stackRows(images, (m) => m.second!.unmIdx),
      srcIdx: stackRows(images, (m) => m.second!.srcIdx),
      dstIdx: stackRows(images, (m) => m.second!.dstIdx),
    };
  }
  const scores = images[0].scores;
  if (scores) {
    const names = Object.keys(scores);
    match.scores = Object.fromEntries(names.map((name) => [name, stackImages(images.map((m) => m.scores![name]))])) as unknown as MctfScoreEvidence;
  }
  return match;
}

/** `groupMeanCoeffs` of `poolingWeights` for every image: [B · N]. */
function hostCoeffs(host: HostDecision, pooling: MctfPooling, n: number, nOut: number): Float32Array {
  const { received, size } = host.reads;
  const coeff = new Float32Array(host.images.length * n);
  host.images.forEach((m, b) => {
    let weights: Float32Array;
    if (pooling === 0) weights = size!.subarray(b * n, (b + 1) * n);
    else if (pooling === 1) weights = Float32Array.from({ length: n }, (_, i) => received![b * n + i] * size![b * n + i]);
    else weights = new Float32Array(n).fill(1);
    coeff.set(meanCoeffsHost(m.target, weights, 0, nOut), b * n);
  });
  return coeff;
}

/**
 * `mergeAttention` for one image with its rows and coefficients in host memory, as 2-D ops: keys
 * summed by one row scatter of Pᵀ [N, H·N], queries pooled by one row scatter of the scaled
 * transpose into [H·N', N']. (The 4-D transposes of the general form cost ~0.08 ms a layer on wasm,
 * and the index bookkeeping a dozen kernels.)
 */
function mergeAttentionHost(probs: tf.Tensor4D, target: Int32Array, coeff: Float32Array, nOut: number): tf.Tensor4D {
  const [, heads, n] = probs.shape;
  const byKey = tf.transpose(tf.reshape(probs, [heads * n, n])); // [K, H·Q]
  const keysMerged = tf.scatterND(tf.tensor2d(target, [n, 1], 'int32'), byKey, [nOut, heads * n]); // [K', H·Q]
  const rows = new Int32Array(heads * n);
  const weights = new Float32Array(heads * n);
  for (let h = 0; h < heads; h++) {
    for (let q = 0; q < n; q++) {
      rows[h * n + q] = h * nOut + target[q];
      weights[h * n + q] = coeff[q];
    }
  }
  const scaled = tf.mul(tf.transpose(keysMerged), tf.tensor2d(weights, [heads * n, 1])); // [H·Q, K']
  return tf.reshape(tf.scatterND(tf.tensor2d(rows, [heads * n, 1], 'int32'), scaled, [heads * nOut, nOut]), [1, heads, nOut, nOut]);
}

/** `applyMatch` for a decision made in host memory; `match` supplies index tensors where given. */
function applyHostDecision(input: ReduceInput, p: MctfLayerParams, host: HostDecision, match?: MctfMatch): Reduction {
  const [batch, n] = input.x.shape;
  const nOut = n - host.r;
  const targets = new Int32Array(batch * n);
  host.images.forEach((m, b) => targets.set(m.target, b * n));
  const coeffs = hostCoeffs(host, p.pooling, n, nOut);
  const out = tf.tidy(() => {
    const target = tf.tensor2d(targets, [batch, n], 'int32');
    const coeff = tf.tensor2d(coeffs, [batch, n]);
    const probs = input.attention.probs as tf.Tensor4D;
    let built = match;
    const indices = () => (built ??= matchFromHost(host)); // only the max pooling and batches need them
    let attnNext: tf.Tensor4D | undefined;
    if (p.oneStepAhead) {
      attnNext =
        batch === 1 && p.pooling !== 2 ? mergeAttentionHost(probs, targets, coeffs, nOut) : mergeAttention(probs, { target, coeff, nOut }, indices(), p.pooling);
    }
    return { target, coeff, features: p.pooling === 2 ? maxMerge(indices(), input.x) : undefined, attnNext };
  });
  const reduction: Reduction = { assignment: { target: out.target, coeff: out.coeff, nOut } };
  if (out.features) reduction.features = out.features;
  if (out.attnNext) reduction.attnNext = out.attnNext;
  return reduction;
}

/**
 * The matching MCTF decides for `input` (caller disposes), or null when the layer merges nothing
 * (r ≤ 0 by the official rule). Exposed for the conformance runner and views.
 */
export function mctfMatch(input: ReduceInput, p: MctfLayerParams): MctfMatch | null {
  const { r, numProtected } = layerR(input, p);
  if (r <= 0) return null;
  if (kernelsRunOnCpu()) return matchFromHost(decideOnHost(input, p, r, numProtected));
  const programs = fusedPrograms(input);
  if (programs) return matchFromDecision(mctfDecideByPrograms(programs, input, p, r, numProtected, true), p, r, input.x.shape[1]);
  return tf.tidy(() => {
    const parts = matchScores(input, p, numProtected);
    const { scores, ...m } = bipartiteMatch(parts.scores, r, p.bidirection, numProtected);
    if (!input.evidence || !scores) return m as unknown as tf.TensorContainer;
    // the similarity factor of each A token's best edge: entry (i, bestPartner[i]) of sim
    const [batch, t1, t2] = parts.scores.shape;
    const at = tf.add(tf.reshape(tf.range(0, t1 * t2, t2, 'int32'), [1, t1]), scores.bestPartner) as tf.Tensor2D;
    const protectedRows = tf.logicalNot(tf.isFinite(scores.bestScore));
    const bestSimilarity = parts.sim
      ? (tf.where(protectedRows, tf.fill([batch, t1], -Infinity), gatherRows(tf.reshape(parts.sim, [batch, t1 * t2]) as tf.Tensor2D, at)) as tf.Tensor2D)
      : undefined;
    const evidence: MctfScoreEvidence = { ...scores, bestSimilarity, received: parts.received, info: parts.info, sizeCriterion: parts.sizeCriterion };
    return { ...m, scores: dropUndefined(evidence) } as unknown as tf.TensorContainer;
  }) as unknown as MctfMatch;
}

/**
 * Our own programs for the active backend, when they decide: they passed their device check, and
 * no evidence is asked for (the generic path reports it).
 */
function fusedPrograms(input: ReduceInput): MctfPrograms | null {
  if (input.evidence) return null;
  return [MCTF_WGSL_PROGRAMS, MCTF_GL_PROGRAMS].find((programs) => fusedFamilyOn(programs.family) && mctfProgramsFit(programs, input)) ?? null;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The evidence of a match (its tensors move into it): the edges of both directions and the scores behind them. */
export function mctfEvidence(match: MctfMatch): EvidenceTensors {
  const { unmIdx, srcIdx, dstIdx, second } = match;
  const fields: Record<string, tf.Tensor | undefined> = { unmIdx, srcIdx, dstIdx, ...match.scores };
  if (second) Object.assign(fields, { unmIdx2: second.unmIdx, srcIdx2: second.srcIdx, dstIdx2: second.dstIdx });
  return evidenceOf('mctf', fields, { r: match.r, r1: match.r1, r2: match.r2 });
}

export function disposeMatch(match: MctfMatch): void {
  tf.dispose([match.unmIdx, match.srcIdx, match.dstIdx]);
  if (match.scores) tf.dispose(Object.values(match.scores));
  if (match.second) tf.dispose([match.second.unmIdx, match.second.srcIdx, match.second.dstIdx]);
  if (match.device) tf.dispose([match.device.decided, match.device.criteria]);
}

/** Assignment, features (max pooling only) and attnNext (one-step-ahead only) of a decided match. */
export function applyMatch(input: ReduceInput, p: MctfLayerParams, match: MctfMatch): Reduction {
  if (match.host) return applyHostDecision(input, p, match.host, match);
  if (match.device) return applyDecision(input, p, match.device, match.r);
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
  const { r, numProtected } = layerR(input, p);
  if (r <= 0) {
    // Nothing merges: the attention of the unchanged tokens is the block's own.
    const identity: Reduction = { assignment: identityAssignment(input.x.shape[0], input.x.shape[1]) };
    if (p.oneStepAhead) identity.attnNext = tf.clone(input.attention.probs as tf.Tensor4D);
    if (input.evidence) identity.evidence = evidenceOf('mctf', {}, { idle: `r = ${r} at ${input.x.shape[1]} tokens: nothing merges` });
    return identity;
  }
  if (kernelsRunOnCpu()) {
    const host = decideOnHost(input, p, r, numProtected);
    const reduction = applyHostDecision(input, p, host);
    if (input.evidence) reduction.evidence = mctfEvidence(matchFromHost(host));
    return reduction;
  }
  const programs = fusedPrograms(input);
  if (programs) return reduceByPrograms(programs, input, p, r, numProtected);
  const match = mctfMatch(input, p)!;
  let handedOn = false;
  try {
    const reduction = applyMatch(input, p, match);
    if (input.evidence) {
      reduction.evidence = mctfEvidence(match);
      handedOn = true;
    }
    return reduction;
  } finally {
    if (!handedOn) disposeMatch(match);
  }
}

/** Cosine similarity of ⌈N/2⌉ A tokens against ⌊N/2⌋ B tokens on D channels (docs/METHODS.md#mctf); 0 when idle. */
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
