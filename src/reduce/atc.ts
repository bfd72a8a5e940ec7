/**
 * ATC — agglomerative token clustering (Haurum et al., ECCV 2024). At a few blocks, the patch tokens
 * are clustered bottom-up (single, average or complete linkage) on 1 − cosine of the block's keys
 * averaged over heads, the tree is cut into k clusters, and each cluster becomes one token: the
 * size-weighted mean of its members, its size their sum. The class token stays alone at row 0.
 *
 * Slot: after `x = x + Attn(LN1(x))`, before LN2/MLP. Output rows follow sklearn's cluster labels,
 * which are positions in `_hc_cut`'s heap array (atc-clustering.ts), not any sorted order.
 *
 * The tree is built on the host from the read-back distance matrix, once per clustering block
 * (the official code runs scikit-learn/scipy on the CPU too); the engine reads it back
 * asynchronously where the backend needs that (a deferred decision, like ATS's count).
 *
 * Documented in docs/METHODS.md#atc. Official JoakimHaurum/ATC@227c94b: ATC_setup/models/atc.py
 * (Block_ATC, agglomerative_clustering, merge_wavg). Conformance: tests/fixtures/conformance/cases/atc.
 */
import * as tf from '@tensorflow/tfjs';
import { rowNorms } from '../tokens/row-norms';
import { invariant } from '../errors';
import { weightedMeanCoeffs } from '../tokens/assignment';
import { evidenceOf } from '../tokens/evidence';
import type { Assignment, DeferredReduction, EvidenceTensors, ReduceInput, Reduction } from '../tokens/types';
import { identityAssignment } from './shared/matching';
import { cutTree, dendrogram, type Dendrogram, type Linkage } from './atc-clustering';
import type { Dims, Reducer } from './types';

export interface AtcLayerParams {
  /** Patch-token clusters this block keeps (the class token comes on top). */
  numClusters: number;
  linkage: Linkage;
  /** proportional_attn: sizes weight the merge (and the attention, via the plan); off: plain means. */
  prop: boolean;
}

/** num_clusters at the i-th (0-based) clustering block: int(patches · κ^(i+1)), in double precision. */
export function atcNumClusters(patches: number, keep: number, index: number): number {
  return Math.trunc(patches * keep ** (index + 1));
}

/** Tokens out for N in: min(k, N − protected) clusters plus the protected tokens. */
export function atcOutputTokens(n: number, numClusters: number, protectedCount: number): number {
  return Math.min(numClusters, n - protectedCount) + protectedCount;
}

export interface AtcDecision {
  /** [B, N] cluster row of each token (CLS 0). */
  labels: Int32Array[];
  trees: Dendrogram[];
  /** [B, T, T] 1 − cosine among the clustered tokens, float32 as read back. */
  distances: Float32Array[];
  k: number;
  assignment: Assignment;
}

/**
 * The distances the tree is built from: [B, T, T] 1 − cosine among the tokens after the protected
 * ones, from `metric` [B, N, C'] (keys averaged over heads). Caller owns the tensor.
 */
export function atcDistances(metric: tf.Tensor3D, protectedCount: number): tf.Tensor3D {
  const [batch, n] = metric.shape;
  invariant(n - protectedCount >= 1, 'atc: nothing to cluster');
  return tf.tidy(() => {
    const unit = tf.div(metric, rowNorms(metric)); // no eps, as upstream
    const scored = tf.slice(unit, [0, protectedCount, 0], [batch, n - protectedCount, -1]);
    return tf.sub(1, tf.matMul(scored, scored, false, true)) as tf.Tensor3D;
  });
}

/**
 * The clustering of one block from its read-back distances (`atcDistances`, row-major [B, T, T]).
 * `weights` [B, N] the sizes the merge weighs by (ones without proportional attention).
 * `protectedCount` 1 with a class token, 0 without. Caller owns the assignment's tensors.
 */
export function atcDecideFrom(flat: ArrayLike<number>, weights: tf.Tensor2D, numClusters: number, linkage: Linkage, protectedCount: number): AtcDecision {
  const [batch, n] = weights.shape;
  const t = n - protectedCount;
  const k = Math.min(numClusters, t);
  const distances: Float32Array[] = [];
  const trees: Dendrogram[] = [];
  const target = new Int32Array(batch * n);
  const labels: Int32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const d = Float32Array.from({ length: t * t }, (_, i) => flat[b * t * t + i]);
    for (const v of d) if (!Number.isFinite(v)) throw new Error('atc: the distance matrix has a non-finite value (a zero key vector?)');
    const tree = dendrogram(d, t, linkage);
    const cut = cutTree(tree, t, k);
    const row = new Int32Array(n);
    for (let i = 0; i < t; i++) row[protectedCount + i] = cut[i] + protectedCount;
    target.set(row, b * n);
    distances.push(d);
    trees.push(tree);
    labels.push(row);
  }
  const nOut = k + protectedCount;
  const targetT = tf.tensor2d(target, [batch, n], 'int32');
  const coeff = weightedMeanCoeffs(targetT, weights, nOut, { everyInputKept: true });
  return { labels, trees, distances, k, assignment: { target: targetT, coeff, nOut } };
}

/** Both steps at once, reading the distances synchronously (the conformance runner, Node). */
export function atcDecide(metric: tf.Tensor3D, weights: tf.Tensor2D, numClusters: number, linkage: Linkage, protectedCount: number): AtcDecision {
  const dist = atcDistances(metric, protectedCount);
  const flat = dist.dataSync() as Float32Array;
  dist.dispose();
  return atcDecideFrom(flat, weights, numClusters, linkage, protectedCount);
}

/** Evidence: the merge tree (children, distances) of each image; the cut keeps k clusters. */
export function atcEvidence(d: AtcDecision, linkage: Linkage, protectedCount: number): EvidenceTensors {
  const t = d.distances[0].length === 0 ? 0 : Math.round(Math.sqrt(d.distances[0].length));
  const batch = d.trees.length;
  const children = new Int32Array(batch * (t - 1) * 2);
  const dists = new Float32Array(batch * (t - 1));
  d.trees.forEach((tree, b) => {
    tree.children.forEach(([a, c], i) => children.set([a, c], (b * (t - 1) + i) * 2));
    dists.set(tree.distances, b * (t - 1));
  });
  return evidenceOf(
    'atc',
    { children: tf.tensor3d(children, [batch, t - 1, 2], 'int32'), mergeDistances: tf.tensor2d(dists, [batch, t - 1]) },
    { linkage, clusters: d.k, leaves: t, protectedCount },
  );
}

function idleReduction(input: ReduceInput, params: AtcLayerParams): Reduction {
  const [batch, n] = input.x.shape;
  // the official block clusters only when num_clusters > 0
  const idle: Reduction = { assignment: identityAssignment(batch, n) };
  if (input.evidence) idle.evidence = evidenceOf('atc', {}, { idle: `the keep rate leaves ${params.numClusters} clusters here, so this block does not cluster` });
  return idle;
}

/**
 * ATC in two steps: the distances on device, read back by the engine (asynchronously on WebGPU),
 * then the tree, the cut and the assignment on the host.
 */
function reduceAtcDeferred(input: ReduceInput, params: AtcLayerParams): DeferredReduction {
  invariant(input.classToken, 'ATC keeps the class token out of the clustering; this model has no class token');
  const metric = input.attention.keysMean;
  invariant(metric, 'ATC clusters on the keys averaged over heads (needs: keysMean)');
  const [batch, n] = input.x.shape;
  if (params.numClusters <= 0) {
    const nothing = tf.keep(tf.zeros([0])); // nothing to read; outlives the engine's tidy until dispose()
    return { read: nothing, complete: () => idleReduction(input, params), dispose: () => nothing.dispose() };
  }
  // both outlive the engine's tidy until dispose()
  const weights = tf.keep(params.prop ? (tf.reshape(input.size, [batch, n]) as tf.Tensor2D) : (tf.ones([batch, n]) as tf.Tensor2D));
  const dist = tf.keep(atcDistances(metric, 1));
  return {
    read: dist,
    complete(flat) {
      const d = atcDecideFrom(flat, weights, params.numClusters, params.linkage, 1);
      const reduction: Reduction = { assignment: d.assignment };
      if (input.evidence) reduction.evidence = atcEvidence(d, params.linkage, 1);
      return reduction;
    },
    dispose: () => tf.dispose([weights, dist]),
  };
}

/** The synchronous form, for Node and the conformance runner. */
function reduceAtc(input: ReduceInput, params: AtcLayerParams): Reduction {
  const deferred = reduceAtcDeferred(input, params);
  try {
    return deferred.complete(deferred.read.dataSync() as Float32Array);
  } finally {
    deferred.dispose();
  }
}

/**
 * Method overhead (docs/METHODS.md#atc), fvcore convention: the similarity matmul N²·d_h of a
 * clustering block. The tree itself (O(T²) memory, up to O(T³) time on the host) is not counted.
 */
function atcOverhead(nIn: number, dims: Dims): number {
  return nIn * nIn * (dims.hidden / dims.heads);
}

export const atc: Reducer<AtcLayerParams> = {
  id: 'atc',
  label: 'ATC',
  slot: 'afterAttention',
  kind: 'merge',
  needs: ['keysMean'],
  reduce: reduceAtc,
  reduceDeferred: reduceAtcDeferred,
  overheadFlops: atcOverhead,
};
