/**
 * GTP-ViT — graph-based token propagation (Xu et al., WACV 2024).
 *
 * Once per forward, before block 0, a graph over the T patch tokens (never the class token):
 *   spatial   A[i, j] = 1 for the 8 grid neighbours (row-major grid, g = ⌊√T⌋);
 *   semantic  A[i, j] = 1 where cos(x_i, x_j) ≥ the k-th smallest cosine of row i, k = N − 1 − neighbours
 *             with N counting the class token (without one: neighbours + 1 neighbours), minus the identity;
 *   mixed     spatial OR semantic;
 * then W = D^-½ A D^-½ with D the row sums (out-degrees of a possibly asymmetric A). The forward
 * carries W from block to block (`ReduceInput.carried`), shrinking it; it is never renormalised.
 *
 * In each chosen block, after `x = x + Attn(LN1(x))` (the attention optionally sparsified, ops.ts
 * `sparsifyAttention`), each patch token j is scored by MixedAttnMax from that block's attention:
 *   score_j = max_h A[h, j, j] · max_h Σ_i A[h, i, j]   (the class token's query row included);
 * the P lowest are propagated: x_k += alpha · Σ_p W[k, p] x_p for every kept k, then they vanish.
 * Kept tokens leave in descending score order (CLS first); W keeps those rows and columns. With
 * token scales, s_k += alpha · Σ_p W[k, p] s_p too, and they enter later attention as log s per key.
 *
 * Documented in docs/METHODS.md#gtp. Official Ackesnal/GTP-ViT@bb9991e: models_v3.py.
 * Conformance: tests/fixtures/conformance/cases/gtp.
 */
import * as tf from '@tensorflow/tfjs';
import { rowNorms } from '../tokens/row-norms';
import { TokenScopeError, invariant } from '../errors';
import { selectionAssignment } from '../tokens/assignment';
import { evidenceOf } from '../tokens/evidence';
import { gatherRows } from '../tokens/gather-rows';
import type { Assignment, ReduceInput, Reduction } from '../tokens/types';
import type { Dims, Reducer } from './types';
import { fusedFamilyOn } from '../tokens/webgpu/kernel-status';
import { mixedAttnMax } from './gtp-scores';
import { GTP_GL_FAMILY, mixedAttnMaxGL } from './webgl/gtp-scores';

export const GTP_GRAPHS = ['spatial', 'semantic', 'mixed'] as const;
export type GtpGraphType = (typeof GTP_GRAPHS)[number];

export interface GtpGraphParams {
  graph: GtpGraphType;
  /** num_neighbours of the semantic k-NN (unused by the spatial graph). */
  neighbours: number;
}

export interface GtpLayerParams {
  /** num_prop: patch tokens propagated (removed) at this block. */
  p: number;
  alpha: number;
  /** token_scale: carry token scales and add log s to the attention logits. */
  scale: boolean;
  /** Attention sparsity (1 = off); applied by the model (LayerHook.attentionSparsity). */
  sparsity: number;
  /** The graph's once-per-image FLOPs, counted at the plan's first GTP block (0 elsewhere). */
  graphFlops: number;
}

/**
 * Patch tokens kept out of T at a block with num_prop P, as the official slicing rank[:, :-P]
 * gives them: T − P, none once P ≥ T, and none at P = 0 ([:-0] is empty: every patch goes).
 */
export const gtpKeptPatches = (t: number, p: number) => (p === 0 ? 0 : Math.max(0, t - p));

/** The 0/1 8-neighbourhood of a row-major grid over T patches, no self-loops [T, T]. */
export function spatialAdjacency(t: number): Float32Array {
  const g = Math.floor(Math.sqrt(t));
  const a = new Float32Array(t * t);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < t; j++) {
      const near = Math.abs(Math.floor(i / g) - Math.floor(j / g)) <= 1 && Math.abs((i % g) - (j % g)) <= 1;
      a[i * t + j] = near && i !== j ? 1 : 0;
    }
  }
  return a;
}

function identityMatrix(t: number): Float32Array {
  const a = new Float32Array(t * t);
  for (let i = 0; i < t; i++) a[i * t + i] = 1;
  return a;
}

/**
 * k of the semantic threshold (the k-th smallest cosine of a row, 1-based) for N tokens, N
 * counting the class token when there is one: N − 1 − neighbours.
 */
export const semanticRank = (n: number, neighbours: number) => n - 1 - neighbours;

/**
 * The normalised graph W [B, T, T] from the embedded tokens x [B, N, D] (token 0 the class token
 * when `classToken`). Runs in its own tidy; the caller owns the result.
 */
export function gtpGraph(x: tf.Tensor3D, { graph, neighbours }: GtpGraphParams, classToken = true): tf.Tensor3D {
  const [batch, n, d] = x.shape;
  const t = classToken ? n - 1 : n;
  return tf.tidy(() => {
    const spatial = () => tf.tensor3d(spatialAdjacency(t), [1, t, t]);
    let adjacency: tf.Tensor3D;
    if (graph === 'spatial') {
      adjacency = tf.tile(spatial(), [batch, 1, 1]);
    } else {
      const k = semanticRank(n, neighbours);
      if (k < 1 || k > t) {
        throw new TokenScopeError('plan-invalid', `gtp neighbours=${neighbours} with ${t} patch tokens: the k-NN threshold needs 0 ≤ neighbours ≤ ${n - 2}`);
      }
      const patches = classToken ? tf.slice(x, [0, 1, 0], [batch, t, d]) : x;
      const unit = tf.div(patches, rowNorms(patches)); // no eps, as the official code
      // [B, T, T] cosines, image by image with plain 2-D matmuls (a batched or transposed matmul is the slow path on wasm)
      const images = tf.unstack(unit) as tf.Tensor2D[];
      const cosine = tf.stack(images.map((u) => tf.matMul(u, tf.transpose(u)))) as tf.Tensor3D;
      // the k-th smallest of a row is its (T − k + 1)-th largest; every entry ≥ it passes (ties included)
      const m = t - k + 1;
      const theta = tf.slice(tf.topk(cosine, m).values, [0, 0, m - 1], [batch, t, 1]);
      const passes = tf.cast(tf.greaterEqual(cosine, theta), 'float32');
      // then the identity is subtracted: from the k-NN graph (semantic), or after the official bitwise
      // OR with the spatial graph (mixed) — off the diagonal OR is max, on it max(x, 0) − 1 = x − 1
      const identity = tf.tensor3d(identityMatrix(t), [1, t, t]);
      adjacency = tf.sub(graph === 'semantic' ? passes : tf.maximum(passes, spatial()), identity) as tf.Tensor3D;
    }
    const inverseRoot = tf.pow(tf.sum(adjacency, 2), -0.5); // [B, T], d^-½
    return tf.mul(tf.mul(tf.expandDims(inverseRoot, 2), adjacency), tf.expandDims(inverseRoot, 1)) as tf.Tensor3D;
  });
}

/** gatherRows, with the empty selections P = 0 and P ≥ T produce (which GatherNd refuses). */
function rowsOf(values: tf.Tensor3D, indices: tf.Tensor2D): tf.Tensor3D {
  const [batch, k, width] = values.shape;
  return indices.shape[1] === 0 || k === 0 || width === 0 ? tf.zeros([batch, indices.shape[1], width]) : gatherRows(values, indices);
}

export interface GtpDecision {
  /** [B, T] MixedAttnMax of every patch token. */
  scores: tf.Tensor2D;
  /** [B, T] patch indices by descending score: the first `kept` stay, the rest are propagated. */
  order: tf.Tensor2D;
  kept: number;
  /** [B, kept, T − kept] W[kept, propagated] in the kept order. */
  wKp: tf.Tensor3D;
  /** [B, kept, kept] the graph for the next block. */
  graphNext: tf.Tensor3D;
  /** [B, N − (T − kept), D] class token, then the kept tokens after propagation. */
  x: tf.Tensor3D;
  /** [B, N − (T − kept)] the token scales leaving the block, when given. */
  scales?: tf.Tensor2D;
  assignment: Assignment;
}

/**
 * One GTP block's decision and propagation: x [B, N, D] after the attention residual, probs
 * [B, H, N, N] (already sparsified), graph W [B, T, T], token scales [B, N] or none.
 */
export function gtpDecide(
  x: tf.Tensor3D,
  probs: tf.Tensor4D,
  graph: tf.Tensor3D,
  { p, alpha }: { p: number; alpha: number },
  scales?: tf.Tensor2D,
  classToken = true,
): GtpDecision {
  const [batch, n, d] = x.shape;
  const off = classToken ? 1 : 0;
  const t = n - off;
  invariant(graph.shape[1] === t, `the carried GTP graph has ${graph.shape[1]} nodes, the block has ${t} patch tokens`);
  const kept = gtpKeptPatches(t, p);
  const gone = t - kept;
  const [scores, order, wKp, graphNext, xOut, scalesOut, rows] = tf.tidy(() => {
    const scores = fusedFamilyOn(GTP_GL_FAMILY) ? mixedAttnMaxGL(probs, classToken) : mixedAttnMax(probs, classToken);
    const order = tf.topk(scores, t).indices as tf.Tensor2D; // descending; torch's unstable argsort leaves exact ties open
    const keptIdx = tf.slice(order, [0, 0], [batch, kept]) as tf.Tensor2D;
    const propIdx = tf.slice(order, [0, kept], [batch, gone]) as tf.Tensor2D;
    // rows, then (through a transpose) columns of W; gatherRows rather than a batched gather (see there)
    const keptRowsT = tf.transpose(rowsOf(graph, keptIdx), [0, 2, 1]) as tf.Tensor3D; // [B, T, kept]
    const transposeBack = (m: tf.Tensor3D) => tf.transpose(m, [0, 2, 1]) as tf.Tensor3D;
    const graphNext = transposeBack(rowsOf(keptRowsT, keptIdx));
    const wKp = transposeBack(rowsOf(keptRowsT, propIdx)); // [B, kept, gone]
    const patches = off ? tf.slice(x, [0, off, 0], [batch, t, d]) : x;
    const spread = (values: tf.Tensor3D) => tf.add(rowsOf(values, keptIdx), tf.mul(alpha, tf.matMul(wKp, rowsOf(values, propIdx))));
    const keptX = spread(patches);
    const xOut = off ? tf.concat([tf.slice(x, [0, 0, 0], [batch, off, d]), keptX], 1) : keptX;
    let scalesOut: tf.Tensor2D | undefined;
    if (scales) {
      const s = tf.expandDims(off ? tf.slice(scales, [0, off], [batch, t]) : scales, 2) as tf.Tensor3D;
      const keptS = tf.squeeze(spread(s), [2]);
      scalesOut = (off ? tf.concat([tf.slice(scales, [0, 0], [batch, off]), keptS], 1) : keptS) as tf.Tensor2D;
    }
    const rows = off ? tf.concat([tf.zeros([batch, 1], 'int32'), tf.add(keptIdx, off)], 1) : keptIdx;
    return [scores, order, wKp, graphNext, xOut, scalesOut, rows] as tf.Tensor[];
  }) as tf.Tensor[];
  const assignment = selectionAssignment(rows as tf.Tensor2D, n);
  rows.dispose();
  return {
    scores: scores as tf.Tensor2D,
    order: order as tf.Tensor2D,
    kept,
    wKp: wKp as tf.Tensor3D,
    graphNext: graphNext as tf.Tensor3D,
    x: xOut as tf.Tensor3D,
    scales: scalesOut as tf.Tensor2D | undefined,
    assignment,
  };
}

function reduceGtp(input: ReduceInput, params: GtpLayerParams): Reduction {
  invariant(input.classToken && !input.distillToken, 'GTP runs on models with a class token and no distillation token');
  const { probs } = input.attention;
  invariant(probs, 'GTP needs the attention probabilities');
  invariant(input.carried, 'GTP needs its graph: the compiled plan builds it before block 0');
  const scales = params.scale ? (tf.squeeze(input.size, [2]) as tf.Tensor2D) : undefined;
  const d = gtpDecide(input.x, probs, input.carried as tf.Tensor3D, params, scales);
  scales?.dispose();
  const reduction: Reduction = { assignment: d.assignment, features: d.x, carried: d.graphNext };
  if (d.scales) {
    reduction.sizes = tf.expandDims(d.scales, 2) as tf.Tensor3D;
    d.scales.dispose();
  }
  if (input.evidence) {
    reduction.evidence = evidenceOf('gtp', { scores: d.scores, order: d.order, wKp: d.wKp }, { kept: d.kept, alpha: params.alpha, p: params.p });
  } else {
    tf.dispose([d.scores, d.order, d.wKp]);
  }
  return reduction;
}

/** Once per image (docs/METHODS.md#gtp): the normalisation's two dense matmuls 2·T³, plus T²·D for the cosines of a semantic or mixed graph. */
export function gtpGraphFlops(t: number, hidden: number, graph: GtpGraphType): number {
  return 2 * t ** 3 + (graph === 'spatial' ? 0 : t * t * hidden);
}

/**
 * Method overhead (docs/METHODS.md#gtp), fvcore convention: W_kp · x_prop, kept·P·D (+ kept·P for
 * the token scales), plus the graph at the first GTP block. Scores, sorts and sparsification are not counted.
 */
function gtpOverhead(nIn: number, dims: Dims, params: GtpLayerParams): number {
  const t = nIn - 1;
  const kept = gtpKeptPatches(t, params.p);
  return kept * (t - kept) * (dims.hidden + (params.scale ? 1 : 0)) + params.graphFlops;
}

export const gtp: Reducer<GtpLayerParams> = {
  id: 'gtp',
  label: 'GTP',
  slot: 'afterAttention',
  // the propagated tokens leave (their features spread into kept neighbours through `features`): a selection for sizes and lineage
  kind: 'prune',
  needs: ['probs'],
  reduce: reduceGtp,
  overheadFlops: gtpOverhead,
};
