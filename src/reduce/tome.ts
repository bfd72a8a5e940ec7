/**
 * ToMe — Token Merging: Your ViT But Faster (Bolya et al., ICLR 2023).
 *
 * Slot: after the attention residual, before LN2/MLP. Reads the keys averaged over heads
 * (`attention.keysMean`, [B, N, dh]) as the matching metric and `size` for the size-weighted mean.
 *
 * Matching: tokens split by the parity of their current position (A = 0, 2, 4, … with CLS at A[0];
 * B = 1, 3, 5, … with a distillation token at B[0]). Each A token finds its most cosine-similar B
 * token; the r A tokens with the best matches merge into them (CLS never a source, DIST never a
 * destination). Merged rows are size-weighted means.
 * Output order: [unmerged A, all of B in B order]; the unmerged A are in A-index order with a class
 * token (so CLS stays row 0) and in descending match-score order without one. With a distillation
 * token: [unm[0] = CLS, B[0] = DIST, unm[1:], B[1:]].
 * Integer rules: r is clamped to ⌊(N − protected)/2⌋ (protected = CLS + DIST); r ≤ 0 is the
 * identity. Schedules (`parseR`) truncate toward zero like Python's int().
 * Ties: lower index first, in the argmax and in the score sort (torch's sort leaves ties unspecified).
 *
 * Documented in docs/METHODS.md#tome. Official code: facebookresearch/ToMe tome/merge.py
 * (bipartite_soft_matching, merge_wavg, merge_source) and tome/utils.py (parse_r) at af95e4b.
 * Conformance: tests/fixtures/conformance/cases/tome, tome_parse_r.
 */
import * as tf from '@tensorflow/tfjs';
import { invariant } from '../errors';
import { weightedMeanCoeffs } from '../tokens/assignment';
import { kernelsRunOnCpu } from '../tokens/kernel-paths';
import { bipartiteMatch, bipartiteMatchHost, identityAssignment, interleaveColumns, l2Normalize, meanCoeffsHost, rowDots, splitAlternate } from './shared/matching';
import { evidenceOf } from '../tokens/evidence';
import { fusedFamilyOn } from '../tokens/webgpu/kernel-status';
import { TOME_FAMILY } from './webgpu/tome-best-match';
import { tomeMatchFused } from './webgpu/tome-fused';
import { TOME_GL_FAMILY } from './webgl/tome-best-match';
import { tomeMatchGL } from './webgl/tome-fused';
import type { Assignment, EvidenceTensors, Reduction } from '../tokens/types';
import type { Dims, Reducer } from './types';

/** A ToMe schedule: constant r, r with an inflection (−1 = "decreasing"), or an explicit list. */
export type TomeSchedule = number | { r: number; inflect: number } | readonly number[];

/**
 * tome/utils.py parse_r: one r per layer. A list is zero-padded to `numLayers` (a longer list is
 * kept as is, as upstream does). For (r, inflect): lo = int(r·(1 − inflect)), hi = 2r − lo,
 * r_l = int(lo + (hi − lo)/(L − 1)·l). With one layer upstream divides by zero; we return [lo].
 */
export function parseR(numLayers: number, r: TomeSchedule): number[] {
  if (Array.isArray(r)) {
    return r.length < numLayers ? [...r, ...new Array<number>(numLayers - r.length).fill(0)] : [...r];
  }
  const { r: base, inflect } = typeof r === 'number' ? { r, inflect: 0 } : (r as { r: number; inflect: number });
  const lo = Math.trunc(base * (1.0 - inflect));
  const hi = 2 * base - lo;
  const step = numLayers > 1 ? (hi - lo) / (numLayers - 1) : 0;
  return Array.from({ length: numLayers }, (_, i) => Math.trunc(lo + step * i));
}

/** The per-layer record the plan hands ToMe: this layer's r from the schedule. */
export interface TomeLayerParams {
  r: number;
}

export interface TomeMatchOptions {
  classToken: boolean;
  distillToken: boolean;
  /** [B, N, 1] token sizes for the weighted mean; all ones when omitted. */
  size?: tf.Tensor3D;
  /** Also return the matcher's indices (default true); the engine only needs the assignment. */
  withIndices?: boolean;
}

/** The matcher's decision, indices into A (positions 0, 2, …) and B (positions 1, 3, …). */
export interface TomeIndices {
  /** [B, ⌈N/2⌉ − r] unmerged A tokens, in output order. */
  unmIdx: tf.Tensor2D;
  /** [B, r] merged A tokens, by descending match score. */
  srcIdx: tf.Tensor2D;
  /** [B, r] the B token each source merges into. */
  dstIdx: tf.Tensor2D;
  /** [B, ⌈N/2⌉] each A token's best cosine (−∞ for CLS), that B partner, and A by it (rank = position). */
  bestScore: tf.Tensor2D;
  bestPartner: tf.Tensor2D;
  edgeOrder: tf.Tensor2D;
}

export interface TomeMatch {
  /** r after the clamp; 0 means nothing was merged. */
  r: number;
  /** null when r ≤ 0 (like the official do_nothing, no decision is made) or when not asked for. */
  indices: TomeIndices | null;
  assignment: Assignment;
}

/**
 * Bipartite soft matching on metric [B, N, C']. Returns tensors the caller disposes
 * (`disposeTomeMatch`).
 */
export function bipartiteSoftMatching(metric: tf.Tensor3D, r: number, options: TomeMatchOptions): TomeMatch {
  invariant(Number.isInteger(r), `ToMe r must be an integer, got ${r}`);
  const [batch, n] = metric.shape;
  const { classToken, distillToken, size, withIndices = true } = options;
  const protectedCount = Number(classToken) + Number(distillToken);
  // We can only merge up to half of the unprotected tokens (every source needs its own A slot).
  const rEff = Math.min(r, Math.floor((n - protectedCount) / 2));
  if (rEff <= 0) return { r: 0, indices: null, assignment: identityAssignment(batch, n) };

  const nUnm = Math.ceil(n / 2) - rEff;
  const nOut = n - rEff;
  if (kernelsRunOnCpu()) return matchOnHost(metric, rEff, options);
  if (fusedFamilyOn(TOME_FAMILY)) return tomeMatchFused(metric, rEff, options);
  if (fusedFamilyOn(TOME_GL_FAMILY)) return tomeMatchGL(metric, rEff, options);
  const [unmIdx, srcIdx, dstIdx, target, coeff, bestScore, bestPartner, edgeOrder] = tf.tidy(() => {
    const [a, b] = splitAlternate(l2Normalize(metric)); // [B, ⌈N/2⌉, C'], [B, ⌊N/2⌋, C']; no epsilon, as upstream
    const scores = protectScores(rowDots(a, b), classToken, distillToken);
    const match = bipartiteMatch(scores, rEff, { sortUnmerged: classToken, withIndices });
    const rowA = distillToken ? distillOrder(match.rowA, nUnm) : match.rowA;
    const rowB = distillToken ? distillOrder(match.rowB, nUnm) : match.rowB;
    const target = interleaveColumns(rowA, rowB); // [B, N]
    const weights = size ? (tf.reshape(size, [batch, n]) as tf.Tensor2D) : (tf.ones([batch, n]) as tf.Tensor2D);
    const coeff = weightedMeanCoeffs(target, weights, nOut, { everyInputKept: true });
    return [match.unmIdx, match.srcIdx, match.dstIdx, target, coeff, match.bestScore, match.bestPartner, match.edgeOrder] as tf.Tensor2D[];
  });
  const indices = withIndices ? { unmIdx, srcIdx, dstIdx, bestScore, bestPartner, edgeOrder } : null;
  return { r: rEff, indices, assignment: { target, coeff, nOut } };
}

/**
 * `bipartiteSoftMatching` with the decision in host memory (CPU backends; see shared/matching.ts):
 * the cosine scores on device, then per image the match, the output rows and the mean coefficients.
 */
function matchOnHost(metric: tf.Tensor3D, r: number, options: TomeMatchOptions): TomeMatch {
  const [batch, n] = metric.shape;
  const { classToken, distillToken, size, withIndices = true } = options;
  const nA = Math.ceil(n / 2);
  const nB = n - nA;
  const nUnm = nA - r;
  const nOut = n - r;
  const scores = tf.tidy(() => rowDots(...splitAlternate(l2Normalize(metric)))); // [B, |A|, |B|]; no epsilon, as upstream
  const values = scores.dataSync();
  scores.dispose();
  const weights = size ? size.dataSync() : new Float32Array(batch * n).fill(1);
  // [unm, B] rows moved to [unm[0] = CLS, B[0] = DIST, unm[1:], B[1:]] with a distillation token
  const place = (row: number) => (!distillToken || row === 0 ? row : row === nUnm ? 1 : row < nUnm ? row + 1 : row);
  const target = new Int32Array(batch * n);
  const coeff = new Float32Array(batch * n);
  const picked = { unm: new Int32Array(batch * nUnm), src: new Int32Array(batch * r), dst: new Int32Array(batch * r) };
  const best = { score: new Float32Array(batch * nA), partner: new Int32Array(batch * nA), order: new Int32Array(batch * nA) };
  for (let b = 0; b < batch; b++) {
    const m = bipartiteMatchHost(values, b * nA * nB, nA, nB, r, { sortUnmerged: classToken, skipRow0: classToken, skipCol0: distillToken });
    const rows = target.subarray(b * n, (b + 1) * n);
    m.rowA.forEach((row, i) => (rows[2 * i] = place(row)));
    m.rowB.forEach((row, j) => (rows[2 * j + 1] = place(row)));
    coeff.set(meanCoeffsHost(rows, weights, b * n, nOut), b * n);
    picked.unm.set(m.unmIdx, b * nUnm);
    picked.src.set(m.srcIdx, b * r);
    picked.dst.set(m.dstIdx, b * r);
    best.score.set(m.bestScore, b * nA);
    best.partner.set(m.bestPartner, b * nA);
    best.order.set(m.edgeOrder, b * nA);
  }
  const indices = withIndices
    ? {
        unmIdx: tf.tensor2d(picked.unm, [batch, nUnm], 'int32'),
        srcIdx: tf.tensor2d(picked.src, [batch, r], 'int32'),
        dstIdx: tf.tensor2d(picked.dst, [batch, r], 'int32'),
        bestScore: tf.tensor2d(best.score, [batch, nA]),
        bestPartner: tf.tensor2d(best.partner, [batch, nA], 'int32'),
        edgeOrder: tf.tensor2d(best.order, [batch, nA], 'int32'),
      }
    : null;
  return { r, indices, assignment: { target: tf.tensor2d(target, [batch, n], 'int32'), coeff: tf.tensor2d(coeff, [batch, n]), nOut } };
}

/**
 * Scores [B, |A|, |B|] with CLS's row (never a source) and DIST's column (never a destination) at
 * −∞, by adding a constant bias (−∞ + s = −∞, 0 + s = s exactly).
 */
function protectScores(scores: tf.Tensor3D, classToken: boolean, distillToken: boolean): tf.Tensor3D {
  if (!classToken && !distillToken) return scores;
  const [, nA, nB] = scores.shape;
  return tf.tidy(() => {
    let out = scores;
    if (classToken)
      out = tf.add(
        out,
        tf.tensor3d(
          Float32Array.from({ length: nA }, (_, i) => (i === 0 ? -Infinity : 0)),
          [1, nA, 1],
        ),
      );
    if (distillToken)
      out = tf.add(
        out,
        tf.tensor3d(
          Float32Array.from({ length: nB }, (_, j) => (j === 0 ? -Infinity : 0)),
          [1, 1, nB],
        ),
      );
    return out;
  });
}

/** Rows of [unm, B] moved to [unm[0], B[0], unm[1:], B[1:]]. */
function distillOrder(rows: tf.Tensor2D, nUnm: number): tf.Tensor2D {
  return tf.tidy(() => {
    const unm = tf.scalar(nUnm, 'int32');
    const one = tf.scalar(1, 'int32');
    const shifted = tf.where(tf.less(rows, unm), tf.add(rows, one), rows); // unm[1:] move down one
    const withDist = tf.where(tf.equal(rows, unm), tf.onesLike(rows), shifted); // B[0] -> row 1
    return tf.where(tf.equal(rows, tf.scalar(0, 'int32')), rows, withDist) as tf.Tensor2D; // CLS stays
  });
}

/**
 * The evidence of a match (its index tensors move into it): per A token (A = even positions) its
 * best cosine, partner and edge order; the r edges taken (srcIdx → dstIdx, indices into A and B).
 */
export function tomeEvidence(match: TomeMatch, protectedCount: number): EvidenceTensors {
  if (!match.indices) return evidenceOf('tome', {}, { idle: 'r = 0 at this size: nothing merges' });
  return evidenceOf('tome', { ...match.indices }, { r: match.r, protectedCount });
}

export function disposeTomeMatch(match: TomeMatch): void {
  if (match.indices) tf.dispose(Object.values(match.indices));
  tf.dispose([match.assignment.target, match.assignment.coeff]);
}

export const tome: Reducer<TomeLayerParams> = {
  id: 'tome',
  label: 'ToMe',
  slot: 'afterAttention',
  kind: 'merge',
  needs: ['keysMean'],
  reduce(input, { r }) {
    const metric = input.attention.keysMean;
    invariant(metric, 'ToMe needs attention.keysMean');
    invariant(
      metric.shape[0] === input.x.shape[0] && metric.shape[1] === input.x.shape[1],
      `ToMe metric shape ${metric.shape} does not match tokens ${input.x.shape}`,
    );
    const match = bipartiteSoftMatching(metric, r, {
      classToken: input.classToken,
      distillToken: input.distillToken,
      size: input.size,
      withIndices: input.evidence === true,
    });
    const reduction: Reduction = { assignment: match.assignment };
    if (input.evidence) reduction.evidence = tomeEvidence(match, Number(input.classToken) + Number(input.distillToken));
    return reduction;
  },
  /** The A·Bᵀ similarity, ⌈N/2⌉·⌊N/2⌋·dh MACs; nothing when r ≤ 0 (upstream returns before it). */
  overheadFlops(nIn: number, dims: Dims, { r }: TomeLayerParams): number {
    if (r <= 0) return 0;
    return Math.ceil(nIn / 2) * Math.floor(nIn / 2) * (dims.hidden / dims.heads);
  },
};
