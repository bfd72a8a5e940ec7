/**
 * EViT — token reorganisation (Liang et al., "Not All Patches Are What You Need", ICLR 2022), and
 * top-k attention pruning, which is EViT without the fused token.
 *
 * Slot: after `x = x + Attn(LN1(x))`, before LN2/MLP. Reads this block's post-softmax attention,
 * only the CLS query row (`clsAttn`, or sliced from `probs`), averaged over heads:
 * a_j = mean_h P[h, 0, j].
 *
 * Output order: [CLS, kept tokens by a descending, fused]. The fused token (EViT only) is
 * sum over dropped j of a_j · x_j with the RAW head-mean attention, not renormalised to sum 1.
 *
 * Integer rules: left = ceil(keepRate · (N − 1)) in float64, as Python's math.ceil (0.55 · 100 =
 * 55.00000000000001 → 56). N − 1 counts everything but CLS, including an earlier stage's fused
 * token: 197 → 140 → 100 → 72 at 0.7 with fusion, 197 → 139 → 98 → 69 without. The official code
 * prunes only if both the block's and the call's keep rate are below 1 ("double check"), or when an
 * explicit `tokens` count is given, which then wins; left == N − 1 returns the input untouched.
 * Ties: tf.topk puts the lower index first (torch.topk leaves tie order unspecified).
 *
 * Distillation token (our extension; EViT has no protection and would score, prune or fuse it like
 * a patch): when present it stays at row 1, right after CLS, is never scored or fused, and the
 * count runs over the N − 2 remaining tokens.
 *
 * Documented in docs/METHODS.md#evit and #topk. Official youweiliang/evit@5ca95a7: evit.py (Attention.forward,
 * Block.forward), helpers.py (complement_idx). Conformance: tests/fixtures/conformance/cases/evit.
 */
import * as tf from '@tensorflow/tfjs';
import { invariant, TokenScopeError } from '../errors';
import { selectionAssignment } from '../tokens/assignment';
import { clsAttentionRow } from './shared/cls-attention';
import { identityAssignment } from './shared/matching';
import { evidenceOf } from '../tokens/evidence';
import type { Assignment, EvidenceTensors, ReduceInput, Reduction } from '../tokens/types';
import type { Dims, Reducer } from './types';

export interface EvitLayerParams {
  /** Fraction of the scored tokens kept, in (0, 1]; 1 = no pruning. The paper's κ (0.7 in the main results). */
  keepRate: number;
  /** Append the fused summary token of the dropped tokens (EViT); false = top-k pruning. */
  fuse: boolean;
  /** Explicit kept count; overrides keepRate (the official `tokens` argument). */
  tokens?: number;
}

export type TopkLayerParams = Omit<EvitLayerParams, 'fuse'>;

export interface EvitCountOptions {
  /** The keep rate of the call (the official forward argument). */
  keepRate: number;
  /** The keep rate the block was built with; defaults to `keepRate` (our plans have one rate). */
  blockKeepRate?: number;
  tokens?: number | null;
  /** Leading tokens never scored: 1 (CLS) or 2 (CLS + distillation token). */
  protectedCount?: number;
}

/**
 * How many scored tokens stay: `N − protected` means "no pruning". Throws 'param-out-of-range'
 * where the official code asserts or fails (keep rate outside (0, 1], tokens outside [1, N − 1]).
 */
export function evitLeftTokens(n: number, opts: EvitCountOptions): number {
  const { keepRate, blockKeepRate = keepRate, tokens = null, protectedCount = 1 } = opts;
  const scored = n - protectedCount;
  for (const rate of [keepRate, blockKeepRate]) {
    if (!(rate > 0 && rate <= 1)) {
      throw new TokenScopeError('param-out-of-range', `EViT keepRate ${rate} is outside (0, 1]; try 0.7`);
    }
  }
  const prunes = (blockKeepRate < 1 && keepRate < 1) || tokens !== null;
  if (!prunes) return scored;
  // float64 product and ceil, exactly as Python's math.ceil(keep_rate * (N - 1))
  const left = tokens !== null ? tokens : Math.ceil(keepRate * scored);
  if (!Number.isInteger(left) || left < 1 || left > scored) {
    throw new TokenScopeError('param-out-of-range', `EViT keeps ${left} tokens, but only 1..${scored} of the ${n} tokens can be kept; lower 'tokens'`);
  }
  return left;
}

export interface EvitSelection {
  /** [B, left] int32: kept tokens as indices into the scored tokens (token = idx + protected), attention-descending. */
  idx: tf.Tensor2D;
  /** [B, N − protected] float32: head-mean CLS attention of the scored tokens. */
  clsAttnMean: tf.Tensor2D;
  assignment: Assignment;
}

/**
 * Top-k of the head-mean CLS attention, as an Assignment: kept rows in attention order after the
 * protected rows; with `fuse`, every dropped token goes to the last row with coefficient a_j.
 * `clsAttn` is [B, H, N] (the CLS query row of the attention). Caller disposes the result.
 */
export function evitSelect(clsAttn: tf.Tensor3D, left: number, fuse: boolean, protectedCount = 1): EvitSelection {
  const [batch, , n] = clsAttn.shape;
  const scored = n - protectedCount;
  invariant(left >= 1 && left <= scored, `evitSelect: left ${left} outside 1..${scored}`);
  const nKept = protectedCount + left;
  const nOut = nKept + (fuse ? 1 : 0);
  const [idx, clsAttnMean, target, coeff] = tf.tidy(() => {
    const mean = tf.mean(clsAttn, 1) as tf.Tensor2D; // [B, N]
    const scores = tf.slice(mean, [0, protectedCount], [batch, scored]) as tf.Tensor2D; // [B, T]
    const idx = tf.topk(scores, left).indices as tf.Tensor2D; // [B, left], descending, lower index first on ties
    const protectedRows = tf.tile(tf.expandDims(tf.range(0, protectedCount, 1, 'int32'), 0), [batch, 1]);
    const rows = tf.concat([protectedRows, tf.add(idx, tf.scalar(protectedCount, 'int32'))], 1) as tf.Tensor2D;
    const kept = selectionAssignment(rows, n);
    if (!fuse) return [idx, scores, kept.target, kept.coeff];
    // Every token not kept (protected ones always are) goes to the fused row, weighted by its raw a_j.
    const dropped = tf.less(kept.target, tf.scalar(0, 'int32'));
    const target = tf.where(dropped, tf.fill([batch, n], nOut - 1, 'int32'), kept.target) as tf.Tensor2D;
    const coeff = tf.where(dropped, mean, kept.coeff) as tf.Tensor2D;
    return [idx, scores, target, coeff];
  });
  const assignment: Assignment = { target, coeff, nOut };
  if (fuse) assignment.fusedRow = nOut - 1;
  return { idx, clsAttnMean, assignment };
}

/**
 * The evidence of a selection (its tensors move into it): `clsAttnMean` [B, T] the head-mean CLS
 * attention of the scored tokens (token = index + protectedCount), `keptIdx` [B, left] the kept
 * ones by descending attention; the cut-off is the attention of the last kept one.
 */
export function evitEvidence(selection: EvitSelection, method: 'evit' | 'topk', protectedCount: number): EvidenceTensors {
  return evidenceOf(
    method,
    { clsAttnMean: selection.clsAttnMean, keptIdx: selection.idx },
    { protectedCount, left: selection.idx.shape[1], fuse: method === 'evit' },
  );
}

function reduceEvit(input: ReduceInput, params: EvitLayerParams): Reduction {
  invariant(input.classToken, 'EViT scores tokens by the class token attention; this model has no class token');
  const [batch, n] = input.x.shape;
  const method = params.fuse ? 'evit' : 'topk';
  const protectedCount = input.distillToken ? 2 : 1;
  const left = evitLeftTokens(n, { keepRate: params.keepRate, tokens: params.tokens, protectedCount });
  if (left === n - protectedCount) {
    const identity: Reduction = { assignment: identityAssignment(batch, n) };
    if (input.evidence) identity.evidence = evidenceOf(method, {}, { idle: `the keep rate ${params.keepRate} keeps all ${left} scored tokens here` });
    return identity;
  }
  const clsAttn = clsAttentionRow(input);
  const selection = evitSelect(clsAttn, left, params.fuse, protectedCount);
  if (clsAttn !== input.attention.clsAttn) clsAttn.dispose();
  const reduction: Reduction = { assignment: selection.assignment };
  if (input.evidence) reduction.evidence = evitEvidence(selection, method, protectedCount);
  else tf.dispose([selection.idx, selection.clsAttnMean]);
  return reduction;
}

/**
 * Method overhead (docs/METHODS.md#evit): we count N·D multiply-adds for the fused token when
 * fusing (the weighted sum over the dropped tokens, bounded by N·D), else 0. The head mean of
 * one attention row and the top-k are not FLOP-counted (fvcore convention).
 */
function evitOverhead(nIn: number, dims: Dims, params: EvitLayerParams): number {
  const left = evitLeftTokens(nIn, { keepRate: params.keepRate, tokens: params.tokens });
  return params.fuse && left < nIn - 1 ? nIn * dims.hidden : 0;
}

export const evit: Reducer<EvitLayerParams> = {
  id: 'evit',
  label: 'EViT',
  slot: 'afterAttention',
  kind: 'prune',
  needs: ['clsAttn'],
  reduce: reduceEvit,
  overheadFlops: evitOverhead,
};

export const topk: Reducer<TopkLayerParams> = {
  id: 'topk',
  label: 'Top-K',
  slot: 'afterAttention',
  kind: 'prune',
  needs: ['clsAttn'],
  reduce: (input, params) => reduceEvit(input, { ...params, fuse: false }),
  overheadFlops: () => 0,
};
