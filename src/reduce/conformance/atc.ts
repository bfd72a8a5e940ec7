/**
 * Runs cases/atc through `atcDecide` and the shared assignment primitive: the DeiT block's
 * `agglomerative_clustering` + `merge_wavg` (ATC_setup/models/atc.py @ 227c94b) and the off-the-shelf
 * variant of SSLBackbone_setup/token_reduc/merge.py (num_clusters = N − r with N counting CLS).
 */
import * as tf from '@tensorflow/tfjs';
import { applyAssignment, sumInto } from '../../tokens/assignment';
import { atcDecide } from '../atc';
import type { Linkage } from '../atc-clustering';
import { floatTensor, toNested, type CaseOutputs, type SyncCaseRunner, type Nested } from './case';

export const runAtcCase: SyncCaseRunner = (c) => {
  const p = c.params;
  const protectedCount = p.class_token ? 1 : 0;
  let out: CaseOutputs = {};
  tf.tidy(() => {
    const x = floatTensor(c.inputs.x as Nested) as tf.Tensor3D;
    const metric = floatTensor(c.inputs.metric as Nested) as tf.Tensor3D;
    const [batch, n] = x.shape;
    const size = c.inputs.size === null ? (tf.ones([batch, n, 1]) as tf.Tensor3D) : (floatTensor(c.inputs.size as Nested) as tf.Tensor3D);
    let numClusters: number;
    let rEffective: number | undefined;
    if (p.variant === 'ssl') {
      rEffective = Math.min(Number(p.r), n - protectedCount);
      numClusters = n - rEffective; // N counts the class token: with one, only r − 1 tokens go
    } else {
      numClusters = Number(p.num_clusters);
    }
    const d = atcDecide(metric, tf.reshape(size, [batch, n]) as tf.Tensor2D, numClusters, p.linkage as Linkage, protectedCount);
    const t = n - protectedCount;
    out = {
      num_clusters: d.k,
      n_out: d.assignment.nOut,
      cluster_labels: d.labels.map((row) => Array.from(row)),
      x_merged: toNested(applyAssignment(d.assignment, x)),
      size_merged: toNested(sumInto(d.assignment, size)),
      children_: d.trees.map((tree) => tree.children),
      merge_distances: d.trees.map((tree) => tree.distances),
      scores: d.distances.map((flat) => Array.from({ length: t }, (_, i) => Array.from(flat.subarray(i * t, (i + 1) * t)))),
    };
    if (rEffective !== undefined) {
      out.r_effective = rEffective;
      // upstream amax-merges the 0/1 lineage; clusters are disjoint, so the sum is the same
      // (identity lineage when none is given, as the off-the-shelf patch starts it)
      const source =
        c.inputs.source === null ? (tf.tile(tf.expandDims(tf.eye(n), 0), [batch, 1, 1]) as tf.Tensor3D) : (floatTensor(c.inputs.source as Nested) as tf.Tensor3D);
      out.source_merged = toNested(sumInto(d.assignment, source));
    }
    tf.dispose([d.assignment.target, d.assignment.coeff]);
  });
  return out;
};
