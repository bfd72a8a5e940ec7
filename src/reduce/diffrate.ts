/**
 * DiffRate — differentiable compression rate (Chen et al., ICCV 2023), at inference: every block has
 * two absolute kept numbers, P (after pruning) and M (after merging), both counting the class token,
 * searched once per model and published (compression_rate.json).
 *
 * Slot: after `x = x + Attn(LN1(x))`, before LN2/MLP. In every block it runs in:
 * 1. order the non-class tokens by head-mean CLS attention, descending; CLS stays first. The order
 *    is applied even when nothing is removed.
 * 2. keep the first min(N, P) sorted tokens (prune).
 * 3. if M < P (compared with P, not with the pruned count): sorted positions 0..M−1 are
 *    destinations, M..n_p−1 sources; each source joins its most cosine-similar destination, measured
 *    on the residual-stream features x (not keys), CLS never a destination. A destination becomes
 *    the PLAIN mean of itself and its sources (sizes do not weight it); its size grows by each
 *    source's size times that source's best cosine (no clamp: negative cosines shrink sizes).
 * Output: min(N, P, M) tokens in sorted order. Attention everywhere is proportional (log size).
 *
 * The plain mean is the assignment's coefficient 1/(1 + sources); the similarity-scaled size sum is
 * `Reduction.sizeCoeff` (node_max for sources, 1 for destinations).
 *
 * Documented in docs/METHODS.md#diffrate. Official OpenGVLab/DiffRate@91ae3e3: DiffRate/patch/deit.py
 * (Block.forward), DiffRate/merge.py, compression_rate.json. Conformance:
 * tests/fixtures/conformance/cases/diffrate and diffrate_schedule.
 */
import * as tf from '@tensorflow/tfjs';
import { rowNorms } from '../tokens/row-norms';
import { invariant } from '../errors';
import { diffrateCounts, type DiffrateLayerParams } from './diffrate-schedules';
import { gatherRows } from '../tokens/gather-rows';
import { evidenceOf } from '../tokens/evidence';
import type { Assignment, EvidenceTensors, ReduceInput, Reduction } from '../tokens/types';
import { clsAttentionRow } from './shared/cls-attention';
import type { Dims, Reducer } from './types';

export interface DiffrateDecision {
  /** [B, N] int32: token at each sorted position (position 0 = CLS). */
  idx: tf.Tensor2D;
  /** [B, N − 1] head-mean CLS attention of the non-class tokens. */
  clsAttnMean: tf.Tensor2D;
  /** [B, n_s] int32 destination position of each source (sorted positions M..n_p−1); null when nothing merged. */
  dstIdx: tf.Tensor2D | null;
  /** [B, n_s] best cosine of each source. */
  nodeMax: tf.Tensor2D | null;
  assignment: Assignment;
  /** [B, N] size multipliers: node_max for sources, 1 for kept tokens, 0 for pruned. */
  sizeCoeff: tf.Tensor2D;
}

/**
 * The decision of one block. `x` [B, N, D] residual stream, `clsAttn` [B, H, N] the CLS query row.
 * Caller owns (and disposes) every tensor of the result.
 */
export function diffrateDecide(x: tf.Tensor3D, clsAttn: tf.Tensor3D, params: DiffrateLayerParams): DiffrateDecision {
  const [batch, n] = x.shape;
  invariant(n >= 1, 'diffrate: no tokens');
  const { nPruned, merges, nOut } = diffrateCounts(n, params);
  const m = params.mergeKept;
  const ns = merges ? nPruned - m : 0;
  const out = tf.tidy(() => {
    const mean = tf.mean(clsAttn, 1) as tf.Tensor2D; // [B, N]
    const scores = tf.slice(mean, [0, 1], [batch, n - 1]) as tf.Tensor2D;
    const order = tf.topk(scores, n - 1).indices; // descending; lower index first on ties
    const idx = tf.concat([tf.zeros([batch, 1], 'int32'), tf.add(order, tf.scalar(1, 'int32'))], 1) as tf.Tensor2D;
    // target of each sorted position: its own position while kept, −1 once pruned
    const positions = tf.range(0, n, 1, 'int32');
    let targetSorted = tf.tile(tf.expandDims(tf.where(tf.less(positions, nPruned), positions, tf.fill([n], -1, 'int32')), 0), [batch, 1]) as tf.Tensor2D;
    let coeffSorted = tf.cast(tf.greaterEqual(targetSorted, 0), 'float32') as tf.Tensor2D;
    let sizeSorted = coeffSorted;
    let dstIdx: tf.Tensor2D | null = null;
    let nodeMax: tf.Tensor2D | null = null;
    if (merges) {
      const kept = gatherRows(x, tf.slice(idx, [0, 0], [batch, nPruned]) as tf.Tensor2D); // [B, n_p, D]
      const unit = tf.div(kept, rowNorms(kept)); // no eps, as upstream
      const dst = tf.slice(unit, [0, 0, 0], [batch, m, -1]);
      const src = tf.slice(unit, [0, m, 0], [batch, ns, -1]);
      const sim = tf.matMul(src, dst, false, true); // [B, n_s, M]
      const blocked = tf.concat([tf.fill([batch, ns, 1], -Infinity), tf.slice(sim, [0, 0, 1], [batch, ns, m - 1])], 2);
      nodeMax = tf.max(blocked, 2) as tf.Tensor2D;
      dstIdx = tf.cast(tf.argMax(blocked, 2), 'int32') as tf.Tensor2D;
      // Sources per destination, counted over the LAST axis of a [B, M, n_s] mask: an int32 sum over
      // a middle axis makes TF.js 4.22's WebGPU backend insert a transpose whose shader does not
      // compile for int32 input, and the whole queued batch of kernels is then silently dropped
      // (outputs keep stale buffers). A cast does not help (WebGPU keeps the int32 buffer), nor
      // tf.oneHot(…, 'float32') (the wasm kernel ignores the dtype).
      const hits = tf.equal(tf.reshape(tf.range(0, m, 1, 'int32'), [1, m, 1]), tf.expandDims(dstIdx, 1)); // [B, M, n_s]
      const perDst = tf.add(1, tf.sum(hits, 2)) as tf.Tensor2D; // [B, M]: itself + its sources
      const groupOfSrc = tf.squeeze(gatherRows(tf.expandDims(perDst, 2), dstIdx), [2]); // [B, n_s]
      const tail = n - nPruned;
      targetSorted = tf.concat([tf.tile(tf.expandDims(tf.range(0, m, 1, 'int32'), 0), [batch, 1]), dstIdx, tf.fill([batch, tail], -1, 'int32')], 1) as tf.Tensor2D;
      coeffSorted = tf.concat([tf.div(1, perDst), tf.div(1, groupOfSrc), tf.zeros([batch, tail])], 1) as tf.Tensor2D;
      sizeSorted = tf.concat([tf.ones([batch, m]), nodeMax, tf.zeros([batch, tail])], 1) as tf.Tensor2D;
    }
    // back to input-token order: position of each token = inverse permutation of idx
    const inverse = tf.topk(tf.neg(tf.cast(idx, 'float32')), n).indices as tf.Tensor2D;
    const toTokens = (t: tf.Tensor2D) => tf.squeeze(gatherRows(tf.expandDims(t, 2), inverse), [2]) as tf.Tensor2D;
    return {
      idx,
      clsAttnMean: scores,
      dstIdx,
      nodeMax,
      target: toTokens(targetSorted),
      coeff: toTokens(coeffSorted),
      sizeCoeff: toTokens(sizeSorted),
    } as unknown as tf.TensorContainer;
  }) as unknown as {
    idx: tf.Tensor2D;
    clsAttnMean: tf.Tensor2D;
    dstIdx: tf.Tensor2D | null;
    nodeMax: tf.Tensor2D | null;
    target: tf.Tensor2D;
    coeff: tf.Tensor2D;
    sizeCoeff: tf.Tensor2D;
  };
  return {
    idx: out.idx,
    clsAttnMean: out.clsAttnMean,
    dstIdx: out.dstIdx,
    nodeMax: out.nodeMax,
    assignment: { target: out.target, coeff: out.coeff, nOut },
    sizeCoeff: out.sizeCoeff,
  };
}

/** The evidence of a decision (its tensors move into it). */
export function diffrateEvidence(d: DiffrateDecision, params: DiffrateLayerParams, n: number): EvidenceTensors {
  const { nPruned, nOut } = diffrateCounts(n, params);
  return evidenceOf(
    'diffrate',
    { clsAttnMean: d.clsAttnMean, order: d.idx, dstIdx: d.dstIdx ?? undefined, nodeMax: d.nodeMax ?? undefined },
    { pruneKept: params.pruneKept, mergeKept: params.mergeKept, nPruned, nOut },
  );
}

function reduceDiffrate(input: ReduceInput, params: DiffrateLayerParams): Reduction {
  invariant(input.classToken, 'DiffRate orders tokens by class-token attention; this model has no class token');
  const n = input.x.shape[1];
  const clsAttn = clsAttentionRow(input);
  const d = diffrateDecide(input.x, clsAttn, params);
  if (clsAttn !== input.attention.clsAttn) clsAttn.dispose();
  const reduction: Reduction = { assignment: d.assignment, sizeCoeff: d.sizeCoeff };
  if (input.evidence) reduction.evidence = diffrateEvidence(d, params, n);
  else tf.dispose([d.idx, d.clsAttnMean, d.dstIdx, d.nodeMax].filter((t): t is tf.Tensor2D => t !== null));
  return reduction;
}

/**
 * Method overhead (docs/METHODS.md#diffrate), fvcore convention: only the similarity matmul of a
 * merging block, n_s·M·D. The head mean, the sort, the gathers and the scatter mean are not counted.
 */
export function diffrateOverhead(nIn: number, dims: Dims, params: DiffrateLayerParams): number {
  const { nPruned, merges } = diffrateCounts(nIn, params);
  return merges ? (nPruned - params.mergeKept) * params.mergeKept * dims.hidden : 0;
}

export const diffrate: Reducer<DiffrateLayerParams> = {
  id: 'diffrate',
  label: 'DiffRate',
  slot: 'afterAttention',
  kind: 'prune',
  needs: ['clsAttn'],
  reduce: reduceDiffrate,
  overheadFlops: diffrateOverhead,
};
