/**
 * PPT — token pruning and pooling (Wu et al. 2023): at a few blocks, each image chooses between
 * pruning (drop the r least significant tokens) and pooling (ToMe's bipartite merge of r tokens)
 * from how spread out its token scores are.
 *
 * Slot: after `x = x + Attn(LN1(x))`, before LN2/MLP. Reads the CLS attention row, the value norms
 * (all heads side by side) and the head-mean keys of this block.
 *
 * 1. Significance: w_j = (Σ_h A[h, 0, j]) · ‖v_j‖ for j ≥ 1, s_j = w_j / Σ w; the class token gets 2.
 * 2. r' = min(r, ⌊(N − 1)/2⌋); r' ≤ 0: nothing happens.
 * 3. S_op = unbiased variance of s_1..s_{N−1}. S_op < τ (float32): pooling — ToMe with r' on the
 *    keys, size-weighted. Otherwise pruning: keep the N − r' highest scores, emitted in descending
 *    score order (CLS first). Both remove r', so a batch may mix the two.
 *
 * Both branches are computed for the batch and chosen per image on the device (no read-back).
 * Sizes always add up (`sizeCoeff` 1 for every kept token), which takes the engine's general
 * merge-and-drop path.
 *
 * Documented in docs/METHODS.md#ppt. Official xjwu1024/PPT@706bcdd: ppt_deit.py, tome.py.
 * Conformance: tests/fixtures/conformance/cases/ppt.
 */
import * as tf from '@tensorflow/tfjs';
import { invariant } from '../errors';
import { selectionAssignment } from '../tokens/assignment';
import { evidenceOf } from '../tokens/evidence';
import type { Assignment, ReduceInput, Reduction } from '../tokens/types';
import { clsAttentionRow } from './shared/cls-attention';
import { identityAssignment } from './shared/matching';
import { bipartiteSoftMatching, disposeTomeMatch, type TomeMatch } from './tome';
import type { Dims, Reducer } from './types';

export interface PptLayerParams {
  /** r_tokens: tokens removed per PP block (clamped to ⌊(N − 1)/2⌋). */
  r: number;
  /** τ: S_op below it pools, at or above it prunes. */
  threshold: number;
  /** prop_attn: keep sizes for the attention and the pooling weights; off: every PP block starts from ones. */
  prop: boolean;
}

export const pptEffectiveR = (n: number, r: number) => Math.max(0, Math.min(r, Math.floor((n - 1) / 2)));

/** [B, N] scores ([2, s_1..s_{N−1}]) and [B] S_op from the CLS attention [B, H, N] and value norms [B, N]. */
export function pptScores(clsAttn: tf.Tensor3D, valueNorms: tf.Tensor2D): { scores: tf.Tensor2D; sOp: tf.Tensor1D } {
  return tf.tidy(() => {
    const [batch, , n] = clsAttn.shape;
    const w = tf.slice(tf.mul(tf.sum(clsAttn, 1), valueNorms), [0, 1], [batch, n - 1]);
    const s = tf.div(w, tf.sum(w, 1, true));
    const mean = tf.mean(s, 1, true);
    const sOp = tf.div(tf.sum(tf.square(tf.sub(s, mean)), 1), n - 2) as tf.Tensor1D;
    return { scores: tf.concat([tf.fill([batch, 1], 2), s], 1) as tf.Tensor2D, sOp };
  });
}

export interface PptDecision {
  rEff: number;
  scores: tf.Tensor2D;
  sOp: tf.Tensor1D;
  /** [B] 1 where the image pools. */
  pooled: tf.Tensor1D | null;
  /** [B, N − r'] the pruning branch's kept tokens, score order (every image, used where it prunes). */
  pruneRows: tf.Tensor2D | null;
  match: TomeMatch | null;
  assignment: Assignment;
}

/**
 * The decision of one PP block. `size` [B, N, 1] weighs the pooling (pass ones when prop_attn is
 * off). Caller disposes with `disposePptDecision` (the assignment apart, if kept).
 */
export function pptDecide(
  metric: tf.Tensor3D,
  clsAttn: tf.Tensor3D,
  valueNorms: tf.Tensor2D,
  size: tf.Tensor3D,
  params: PptLayerParams,
  withIndices = false,
): PptDecision {
  const [batch, n] = metric.shape;
  const { scores, sOp } = pptScores(clsAttn, valueNorms);
  const rEff = pptEffectiveR(n, params.r);
  if (rEff <= 0) return { rEff, scores, sOp, pooled: null, pruneRows: null, match: null, assignment: identityAssignment(batch, n) };
  const match = bipartiteSoftMatching(metric, rEff, { classToken: true, distillToken: false, size, withIndices });
  const [pooled, pruneRows, target, coeff] = tf.tidy(() => {
    const pooled = tf.cast(tf.less(sOp, tf.scalar(Math.fround(params.threshold))), 'float32') as tf.Tensor1D;
    const pruneRows = tf.topk(scores, n - rEff).indices as tf.Tensor2D; // descending, CLS first; lower index first on ties
    const pruned = selectionAssignment(pruneRows, n);
    const pick = tf.cast(tf.expandDims(pooled, 1), 'bool');
    const target = tf.where(tf.tile(pick, [1, n]), match.assignment.target, pruned.target) as tf.Tensor2D;
    const coeff = tf.where(tf.tile(pick, [1, n]), match.assignment.coeff, pruned.coeff) as tf.Tensor2D;
    return [pooled, pruneRows, target, coeff];
  });
  return { rEff, scores, sOp, pooled: pooled as tf.Tensor1D, pruneRows, match, assignment: { target, coeff, nOut: n - rEff } };
}

/** Frees a decision's own tensors (scores, flags, the ToMe match, the pruning rows), not its assignment. */
export function disposePptDecision(d: PptDecision, keepEvidence = false): void {
  if (!keepEvidence) tf.dispose([d.scores, d.sOp, ...(d.pooled ? [d.pooled] : [])]);
  if (d.pruneRows) d.pruneRows.dispose();
  if (d.match) disposeTomeMatch(d.match);
}

function reducePpt(input: ReduceInput, params: PptLayerParams): Reduction {
  invariant(input.classToken, 'PPT gives the class token a fixed score; this model has no class token');
  const { keysMean, valueNorms } = input.attention;
  invariant(keysMean && valueNorms, 'PPT needs keysMean and valueNorms');
  const [batch, n] = input.x.shape;
  const clsAttn = clsAttentionRow(input);
  const size = params.prop ? input.size : (tf.ones([batch, n, 1]) as tf.Tensor3D);
  const d = pptDecide(keysMean, clsAttn, valueNorms, size, params);
  if (clsAttn !== input.attention.clsAttn) clsAttn.dispose();
  if (size !== input.size) size.dispose();
  const reduction: Reduction = { assignment: d.assignment };
  if (d.rEff > 0) reduction.sizeCoeff = tf.tidy(() => tf.cast(tf.greaterEqual(d.assignment.target, 0), 'float32') as tf.Tensor2D);
  if (input.evidence) {
    reduction.evidence = evidenceOf('ppt', { scores: d.scores, sOp: d.sOp, pooled: d.pooled ?? undefined }, { threshold: params.threshold, r: d.rEff });
  }
  disposePptDecision(d, input.evidence === true);
  return reduction;
}

/**
 * Method overhead (docs/METHODS.md#ppt), fvcore convention: ToMe's similarity ⌈N/2⌉·⌊N/2⌋·d_h, counted
 * as if the image pooled (an upper bound: a pruned image has no matmul). Scores, variance and sorts
 * are not counted.
 */
function pptOverhead(nIn: number, dims: Dims, params: PptLayerParams): number {
  return pptEffectiveR(nIn, params.r) > 0 ? Math.ceil(nIn / 2) * Math.floor(nIn / 2) * (dims.hidden / dims.heads) : 0;
}

export const ppt: Reducer<PptLayerParams> = {
  id: 'ppt',
  label: 'PPT',
  slot: 'afterAttention',
  kind: 'prune',
  needs: ['clsAttn', 'valueNorms', 'keysMean'],
  reduce: reducePpt,
  overheadFlops: pptOverhead,
};
