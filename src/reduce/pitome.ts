/**
 * PiToMe — Accelerating Transformers with Spectrum-Preserving Token Merging (Tran et al., NeurIPS
 * 2024), as the official repository's HEAD runs it.
 *
 * Slot: after the attention residual, before LN2/MLP (like ToMe). Reads the keys averaged over heads
 * (`attention.keysMean`, [B, N, dh]; the CLS row is dropped) and `size` for the size-weighted mean.
 * Attention is not size-biased at HEAD.
 *
 * Energy: with K̂ the L2-normalised keys of the T = N − 1 patch tokens and C = K̂K̂ᵀ (diagonal
 * included), E_i = mean_j ELU_α(C_ij − m_l). High energy = part of a large similar cluster.
 * Tokens are ranked by E descending; two layer modes use that ranking:
 * - 'bsm' (official pitome_bsm; the first ⌈L/2⌉ layers): A = ranks 0, 2, 4, …, B = ranks 1, 3, …;
 *   ToMe's matching inside (A, B): the r A tokens with the best matches merge into them.
 *   Output: [CLS, unmerged A (descending match score), B (rank order)].
 * - 'protect' (official pitome; the later layers): ranks 0..2r−1 are mergeable, A = even ranks,
 *   B = odd ranks, every A token merges into its most similar B token; ranks ≥ 2r are protected.
 *   Output: [CLS, protected (rank order), B (rank order)].
 * Integer rules: r = ⌊T − T·ratio⌋ in float64 from the current T, every layer; ratio ≥ 1 is a no-op.
 * With r = 0 the official 'protect' mode raises (a max over an empty axis); we keep every token in
 * place instead. r is clamped to what upstream can run (⌊T/2⌋ for 'protect', ⌈T/2⌉ for 'bsm');
 * it only binds for ratio < 0.5, where upstream raises.
 * Schedule (DeiT patch): margin m_l = 0.75 − 0.75·l/L, α = 1.
 * Ties: lower index first in the energy ranking, argmax and score sort (torch's argsort leaves ties
 * unspecified). A distillation token is not protected (upstream ignores it).
 *
 * Documented in docs/METHODS.md#pitome. Official code: hchautran/PiToMe
 * algo/pitome/merge.py (pitome_vision, pitome, pitome_bsm, merge_wavg, merge_source) and
 * algo/pitome/patch/deit.py, timm.py at 550b5de (algorithm code of 69c56a2).
 * Conformance: tests/fixtures/conformance/cases/pitome.
 */
import * as tf from '@tensorflow/tfjs';
import { invariant } from '../errors';
import { kernelsRunOnCpu } from '../tokens/kernel-paths';
import { weightedMeanCoeffs } from '../tokens/assignment';
import {
  argsortDescending,
  argsortDescendingHost,
  bipartiteMatch,
  bipartiteMatchHost,
  everyOther,
  identityAssignment,
  interleaveColumns,
  inversePermutation,
  l2Normalize,
  meanCoeffsHost,
  rangeRows,
  rowDots,
  takeAlong,
  takeBlock,
} from './shared/matching';
import { evidenceOf } from '../tokens/evidence';
import { fusedFamilyOn } from '../tokens/webgpu/kernel-status';
import { PITOME_FAMILY } from './webgpu/pitome-energy';
import { pitomeFusedFits, pitomeMatchFused } from './webgpu/pitome-fused';
import type { Assignment, EvidenceTensors, Reduction } from '../tokens/types';
import type { Dims, Reducer } from './types';

/** 'bsm' = official pitome_bsm (BSM on the energy order); 'protect' = official pitome (protect + merge). */
export type PitomeMode = 'bsm' | 'protect';

/** The per-layer record the plan hands PiToMe. */
export interface PitomeLayerParams {
  /** keep fraction of the patch tokens at this layer; ≥ 1 merges nothing */
  ratio: number;
  /** energy margin m_l */
  margin: number;
  /** ELU α */
  alpha: number;
  mode: PitomeMode;
}

/** The official DeiT schedule at layer `layer` (0-based) of `depth`. */
export function pitomeLayerParams(layer: number, depth: number, ratio: number, alpha = 1): PitomeLayerParams {
  invariant(Number.isInteger(layer) && layer >= 0 && layer < depth, `PiToMe layer ${layer} is outside 0..${depth - 1}`);
  return {
    ratio,
    margin: 0.75 - 0.75 * (layer / depth),
    alpha,
    mode: layer < Math.ceil(depth / 2) ? 'bsm' : 'protect',
  };
}

/** Tokens merged away at a layer with T patch tokens: ⌊T − T·ratio⌋ (0 when ratio ≥ 1). */
export function pitomeR(t: number, ratio: number): number {
  return ratio < 1 ? Math.floor(t - t * ratio) : 0;
}

/**
 * The error the official pitome_vision raises for (T, r, mode), or null when it runs. Our engine
 * does not raise (see `pitomeMatch`); the conformance runner reports these.
 */
export function officialPitomeError(t: number, r: number, mode: PitomeMode): string | null {
  if (mode === 'protect' && r === 0) return 'IndexError: max(): Expected reduction dim 2 to have non-zero size.';
  if (mode === 'protect' && 2 * r > t) return `RuntimeError: 2r = ${2 * r} exceeds T = ${t} (merge set too small)`;
  if (mode === 'bsm' && r > Math.ceil(t / 2)) return `RuntimeError: r = ${r} exceeds |A| = ${Math.ceil(t / 2)}`;
  return null;
}

/** The decision, indices into the T non-class tokens (or into A / B where named). */
export interface PitomeIndices {
  /** [B, T] E_i */
  energy: tf.Tensor2D;
  /** [B, T] int32 tokens by descending energy */
  order: tf.Tensor2D;
  /** [B, |A|] A tokens ('bsm': order[0::2]; 'protect': order[0:2r:2]) */
  aIdx: tf.Tensor2D;
  /** [B, |B|] B tokens ('bsm': order[1::2]; 'protect': order[1:2r:2]) */
  bIdx: tf.Tensor2D;
  /** [B, r] B position each source merges into ('bsm': aligned with srcIdx; 'protect': with aIdx) */
  dstIdx: tf.Tensor2D;
  /** 'protect': [B, T − 2r] order[2r:] */
  protectedIdx?: tf.Tensor2D;
  /** 'bsm': [B, |A| − r] unmerged A positions, by descending match score */
  unmIdx?: tf.Tensor2D;
  /** 'bsm': [B, r] merged A positions, by descending match score */
  srcIdx?: tf.Tensor2D;
  /** 'bsm': [B, |A|] each A position's best cosine, its B position, and A by that score */
  bestScore?: tf.Tensor2D;
  bestPartner?: tf.Tensor2D;
  edgeOrder?: tf.Tensor2D;
}

export interface PitomeMatch {
  /** tokens merged away (after the clamp; 0 when nothing merged) */
  r: number;
  /** null when nothing was decided (ratio ≥ 1, or r = 0 in 'protect' mode) */
  indices: PitomeIndices | null;
  assignment: Assignment;
}

export interface PitomeMatchOptions {
  classToken: boolean;
  /** [B, N, 1] token sizes for the weighted mean; all ones when omitted. */
  size?: tf.Tensor3D;
  /** Also return the decision's indices (default true); the engine only needs the assignment. */
  withIndices?: boolean;
}

/** PiToMe on metric [B, N, C']. Returns tensors the caller disposes (`disposePitomeMatch`). */
export function pitomeMatch(metric: tf.Tensor3D, params: PitomeLayerParams, options: PitomeMatchOptions): PitomeMatch {
  const [batch, n] = metric.shape;
  const off = options.classToken ? 1 : 0;
  const t = n - off;
  const maxR = params.mode === 'protect' ? Math.floor(t / 2) : Math.ceil(t / 2);
  const r = Math.min(pitomeR(t, params.ratio), maxR);
  // ratio ≥ 1: upstream returns do_nothing. r = 0 in 'protect' mode: upstream raises; we keep every
  // token in place. (In 'bsm' mode r = 0 still re-orders the tokens, as upstream does.)
  const nothing = params.ratio >= 1 || (params.mode === 'protect' && r === 0) || t < 2;
  if (nothing) return { r: 0, indices: null, assignment: identityAssignment(batch, n) };

  const nOut = n - r;
  if (kernelsRunOnCpu()) return matchOnHost(metric, params, r, options);
  if (fusedFamilyOn(PITOME_FAMILY) && pitomeFusedFits(t)) return pitomeMatchFused(metric, params, r, options);
  const out = tf.tidy(() => {
    const keys = l2Normalize(tf.slice(metric, [0, off, 0], [batch, t, -1]) as tf.Tensor3D, 1e-12); // [B, T, C']
    const sim = rowDots(keys, keys); // [B, T, T]
    const energy = energyScore(sim, params.margin, params.alpha);
    const order = argsortDescending(energy); // [B, T]
    const decided = params.mode === 'bsm' ? bsmRows(sim, order, r) : protectRows(sim, order, r);
    // rowByRank[k] = output row (among the T non-class rows) of the token ranked k
    const tokenRow = takeAlong(decided.rowByRank, inversePermutation(order)); // [B, T]
    const target = options.classToken ? (tf.concat([tf.zeros([batch, 1], 'int32'), tf.add(tokenRow, tf.scalar(1, 'int32'))], 1) as tf.Tensor2D) : tokenRow;
    const weights = options.size ? (tf.squeeze(options.size, [2]) as tf.Tensor2D) : (tf.ones([batch, n]) as tf.Tensor2D);
    const coeff = weightedMeanCoeffs(target, weights, nOut, { everyInputKept: true });
    return { energy, order, target, coeff, ...decided.indices };
  });
  const { target, coeff, ...indices } = out;
  return { r, indices, assignment: { target, coeff, nOut } };
}

/**
 * `pitomeMatch` with the decision in host memory (CPU backends; see shared/matching.ts): the T×T
 * similarity and the energies on device, then per image the energy ranking, the matching in 'bsm'
 * or 'protect' mode, the output rows and the mean coefficients.
 */
function matchOnHost(metric: tf.Tensor3D, params: PitomeLayerParams, r: number, options: PitomeMatchOptions): PitomeMatch {
  const [batch, n] = metric.shape;
  const off = options.classToken ? 1 : 0;
  const t = n - off;
  const nOut = n - r;
  const withIndices = options.withIndices ?? true;
  const [simT, energy] = tf.tidy(() => {
    const keys = l2Normalize(tf.slice(metric, [0, off, 0], [batch, t, -1]) as tf.Tensor3D, 1e-12); // [B, T, C']
    const sim = rowDots(keys, keys); // [B, T, T]
    return [sim, energyScore(sim, params.margin, params.alpha)];
  });
  const sim = simT.dataSync();
  simT.dispose();
  const energies = energy.dataSync();
  const weights = options.size ? options.size.dataSync() : new Float32Array(batch * n).fill(1);
  const bsm = params.mode === 'bsm';
  const nA = bsm ? Math.ceil(t / 2) : r;
  const nB = bsm ? t - nA : r;
  const target = new Int32Array(batch * n);
  const coeff = new Float32Array(batch * n);
  const kept = { order: new Int32Array(batch * t), a: new Int32Array(batch * nA), b: new Int32Array(batch * nB), dst: new Int32Array(batch * r) };
  const unmKept = new Int32Array(bsm ? batch * (nA - r) : 0);
  const srcKept = new Int32Array(bsm ? batch * r : 0);
  const best = bsm ? { score: new Float32Array(batch * nA), partner: new Int32Array(batch * nA), order: new Int32Array(batch * nA) } : null;
  const protectedKept = new Int32Array(bsm ? 0 : batch * (t - 2 * r));
  for (let b = 0; b < batch; b++) {
    const order = argsortDescendingHost(energies.subarray(b * t, (b + 1) * t));
    const simAt = (i: number, j: number) => sim[b * t * t + i * t + j];
    // A and B alternate along the energy ranking: all of it ('bsm') or its top 2r ('protect')
    const aIdx = Int32Array.from({ length: nA }, (_, i) => order[2 * i]);
    const bIdx = Int32Array.from({ length: nB }, (_, j) => order[2 * j + 1]);
    const rowByRank = new Int32Array(t);
    let dstIdx: Int32Array;
    if (bsm) {
      const cross = new Float32Array(nA * nB);
      for (let i = 0; i < nA; i++) for (let j = 0; j < nB; j++) cross[i * nB + j] = simAt(aIdx[i], bIdx[j]);
      const m = bipartiteMatchHost(cross, 0, nA, nB, r, { sortUnmerged: false });
      m.rowA.forEach((row, i) => (rowByRank[2 * i] = row));
      m.rowB.forEach((row, j) => (rowByRank[2 * j + 1] = row));
      dstIdx = m.dstIdx;
      unmKept.set(m.unmIdx, b * (nA - r));
      srcKept.set(m.srcIdx, b * r);
      best!.score.set(m.bestScore, b * nA);
      best!.partner.set(m.bestPartner, b * nA);
      best!.order.set(m.edgeOrder, b * nA);
    } else {
      // every A merges into its most similar B (first index on ties); ranks ≥ 2r are protected
      dstIdx = aIdx.map((a) => {
        let best = -Infinity;
        let at = 0;
        for (let j = 0; j < nB; j++) {
          const v = simAt(a, bIdx[j]);
          if (v > best) {
            best = v;
            at = j;
          }
        }
        return at;
      });
      const firstB = t - 2 * r;
      for (let i = 0; i < r; i++) {
        rowByRank[2 * i] = dstIdx[i] + firstB;
        rowByRank[2 * i + 1] = i + firstB;
      }
      for (let k = 0; k < firstB; k++) rowByRank[2 * r + k] = k;
      protectedKept.set(order.subarray(2 * r), b * (t - 2 * r));
    }
    const rows = target.subarray(b * n, (b + 1) * n);
    order.forEach((token, rank) => (rows[token + off] = rowByRank[rank] + off)); // CLS (if any) stays at row 0
    coeff.set(meanCoeffsHost(rows, weights, b * n, nOut), b * n);
    kept.order.set(order, b * t);
    kept.a.set(aIdx, b * nA);
    kept.b.set(bIdx, b * nB);
    kept.dst.set(dstIdx, b * r);
  }
  const assignment = { target: tf.tensor2d(target, [batch, n], 'int32'), coeff: tf.tensor2d(coeff, [batch, n]), nOut };
  if (!withIndices) {
    energy.dispose();
    return { r, indices: null, assignment };
  }
  const int = (data: Int32Array, k: number) => tf.tensor2d(data, [batch, k], 'int32');
  const indices: PitomeIndices = {
    energy: energy as tf.Tensor2D,
    order: int(kept.order, t),
    aIdx: int(kept.a, nA),
    bIdx: int(kept.b, nB),
    dstIdx: int(kept.dst, r),
  };
  if (bsm) {
    indices.unmIdx = int(unmKept, nA - r);
    indices.srcIdx = int(srcKept, r);
    indices.bestScore = tf.tensor2d(best!.score, [batch, nA]);
    indices.bestPartner = int(best!.partner, nA);
    indices.edgeOrder = int(best!.order, nA);
  } else {
    indices.protectedIdx = int(protectedKept, t - 2 * r);
  }
  return { r, indices, assignment };
}

/** E [B, T] = mean_j ELU_α(sim_ij − margin). */
function energyScore(sim: tf.Tensor3D, margin: number, alpha: number): tf.Tensor2D {
  return tf.tidy(() => {
    const u = tf.sub(sim, margin);
    const elu = tf.where(tf.greater(u, 0), u, tf.mul(alpha, tf.sub(tf.exp(u), 1)));
    return tf.mean(elu, -1) as tf.Tensor2D;
  });
}

/** sim[a_i, b_j] for A [B, |A|], B [B, |B|] token indices -> [B, |A|, |B|]. */
function crossScores(sim: tf.Tensor3D, aIdx: tf.Tensor2D, bIdx: tf.Tensor2D): tf.Tensor3D {
  return takeBlock(sim, aIdx, bIdx);
}

interface RankRows {
  /** [B, T] output row, among the non-class rows, of the token at each energy rank */
  rowByRank: tf.Tensor2D;
  indices: Omit<PitomeIndices, 'energy' | 'order'>;
}

/** pitome_bsm: ToMe matching between even and odd energy ranks; output [unmerged A, B]. */
function bsmRows(sim: tf.Tensor3D, order: tf.Tensor2D, r: number): RankRows {
  const aIdx = everyOther(order, 0);
  const bIdx = everyOther(order, 1);
  const match = bipartiteMatch(crossScores(sim, aIdx, bIdx), r, { sortUnmerged: false });
  return {
    rowByRank: interleaveColumns(match.rowA, match.rowB),
    indices: {
      aIdx,
      bIdx,
      dstIdx: match.dstIdx!,
      unmIdx: match.unmIdx,
      srcIdx: match.srcIdx,
      bestScore: match.bestScore,
      bestPartner: match.bestPartner,
      edgeOrder: match.edgeOrder,
    },
  };
}

/** pitome: ranks < 2r alternate A/B, every A merges into its best B; output [protected, B]. */
function protectRows(sim: tf.Tensor3D, order: tf.Tensor2D, r: number): RankRows {
  const [batch, t] = order.shape;
  const mergeSet = tf.slice(order, [0, 0], [batch, 2 * r]) as tf.Tensor2D;
  const protectedIdx = tf.slice(order, [0, 2 * r], [batch, t - 2 * r]) as tf.Tensor2D;
  const aIdx = everyOther(mergeSet, 0);
  const bIdx = everyOther(mergeSet, 1);
  const dstIdx = tf.argMax(crossScores(sim, aIdx, bIdx), -1) as tf.Tensor2D; // [B, r], first index on ties
  const firstB = tf.scalar(t - 2 * r, 'int32');
  const mergedRows = interleaveColumns(tf.add(dstIdx, firstB), tf.add(rangeRows(batch, r), firstB)); // [B, 2r]
  return {
    rowByRank: tf.concat([mergedRows, rangeRows(batch, t - 2 * r)], 1) as tf.Tensor2D,
    indices: { aIdx, bIdx, dstIdx, protectedIdx },
  };
}

/**
 * The evidence of a match (its index tensors move into it): the energy of every non-class token
 * (token = index + 1 with a class token), the energy order, A and B as positions in it, the edges
 * taken, and the protected set ('protect') or the bipartite scores ('bsm').
 */
export function pitomeEvidence(match: PitomeMatch, params: PitomeLayerParams, classToken: boolean): EvidenceTensors {
  if (!match.indices) {
    const why = params.ratio >= 1 ? `ratio ${params.ratio} keeps every token` : 'r = 0 at this size: nothing merges';
    return evidenceOf('pitome', {}, { idle: why });
  }
  const fields = Object.fromEntries(Object.entries(match.indices)) as Record<string, tf.Tensor | undefined>;
  return evidenceOf('pitome', fields, { r: match.r, mode: params.mode, margin: params.margin, alpha: params.alpha, offset: classToken ? 1 : 0 });
}

export function disposePitomeMatch(match: PitomeMatch): void {
  if (match.indices) tf.dispose(Object.values(match.indices));
  tf.dispose([match.assignment.target, match.assignment.coeff]);
}

export const pitome: Reducer<PitomeLayerParams> = {
  id: 'pitome',
  label: 'PiToMe',
  slot: 'afterAttention',
  kind: 'merge',
  needs: ['keysMean'],
  reduce(input, params) {
    const metric = input.attention.keysMean;
    invariant(metric, 'PiToMe needs attention.keysMean');
    invariant(
      metric.shape[0] === input.x.shape[0] && metric.shape[1] === input.x.shape[1],
      `PiToMe metric shape ${metric.shape} does not match tokens ${input.x.shape}`,
    );
    const match = pitomeMatch(metric, params, { classToken: input.classToken, size: input.size, withIndices: input.evidence === true });
    const reduction: Reduction = { assignment: match.assignment };
    if (input.evidence) reduction.evidence = pitomeEvidence(match, params, input.classToken);
    else if (match.indices) tf.dispose(Object.values(match.indices));
    return reduction;
  },
  /** The T×T key similarity, T²·dh MACs (T = nIn − 1 patch tokens); nothing when ratio ≥ 1. */
  overheadFlops(nIn: number, dims: Dims, params: PitomeLayerParams): number {
    if (params.ratio >= 1) return 0;
    const t = nIn - 1;
    return t * t * (dims.hidden / dims.heads);
  },
};
