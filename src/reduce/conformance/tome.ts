/**
 * Runs a cases/tome conformance case through `bipartiteSoftMatching` and the shared assignment
 * primitive, and returns the fields the official harness recorded (tome/merge.py @ af95e4b).
 */
import * as tf from '@tensorflow/tfjs';
import { applyAssignment, sumInto, weightedMeanCoeffs } from '../../tokens/assignment';
import { batchedField, readEvidenceSync } from '../../tokens/evidence';
import { bipartiteSoftMatching, disposeTomeMatch, tomeEvidence } from '../tome';
import { floatTensor, readAhead, toNested, type CaseOutputs, type CaseRunner, type Nested } from './case';

interface TomeCaseParams {
  r: number;
  class_token: boolean;
  distill_token: boolean;
}

export const runTomeCase: CaseRunner = async (c) => {
  const p = c.params as unknown as TomeCaseParams;
  const x = floatTensor(c.inputs.x) as tf.Tensor3D; // [B, N, C]
  const metric = floatTensor(c.inputs.metric) as tf.Tensor3D; // [B, N, C']
  const [batch, n] = x.shape;
  const size = c.inputs.size === null ? (tf.ones([batch, n, 1]) as tf.Tensor3D) : (floatTensor(c.inputs.size) as tf.Tensor3D);
  const source =
    c.inputs.source === null
      ? tf.tidy(() => tf.tile(tf.expandDims(tf.eye(n), 0), [batch, 1, 1]) as tf.Tensor3D)
      : (floatTensor(c.inputs.source as Nested) as tf.Tensor3D);
  const match = bipartiteSoftMatching(metric, p.r, { classToken: p.class_token, distillToken: p.distill_token, size });
  const { assignment } = match;
  const tensors = tf.tidy(() => {
    const xMerged = applyAssignment(assignment, x);
    const plainMean = weightedMeanCoeffs(assignment.target, tf.ones([batch, n]) as tf.Tensor2D, assignment.nOut);
    return {
      x_merged: xMerged,
      size_merged: sumInto(assignment, size),
      // upstream max-merges the 0/1 lineage; its groups are disjoint, so the sum is the same
      source_merged: sumInto(assignment, source),
      x_merged_mean: applyAssignment({ ...assignment, coeff: plainMean }, x),
    };
  });
  await readAhead([...Object.values(tensors), assignment.target, ...Object.values(match.indices ?? {})]);
  // the decision's indices as the trace records them (the evidence the why view shows)
  const evidence = match.indices ? readEvidenceSync(tomeEvidence(match, Number(p.class_token) + Number(p.distill_token)), batch) : null;
  const out: CaseOutputs = {
    r_effective: n - assignment.nOut,
    n_out: assignment.nOut,
    x_merged: toNested(tensors.x_merged),
    size_merged: toNested(tensors.size_merged),
    source_merged: toNested(tensors.source_merged),
    x_merged_mean: toNested(tensors.x_merged_mean),
    x_unmerged: officialUnmerge(tensors.x_merged.arraySync(), assignment.target.arraySync(), match.indices ? match.indices.unmIdx.shape[1] : null, p.distill_token),
    unm_idx: evidence ? batchedField(evidence, 'unmIdx') : null,
    src_idx: evidence ? batchedField(evidence, 'srcIdx') : null,
    dst_idx: evidence ? batchedField(evidence, 'dstIdx') : null,
  };
  tf.dispose([x, metric, size, source, ...Object.values(tensors)]);
  disposeTomeMatch(match);
  return out;
};

/**
 * Upstream's unmerge: every input token gets the merged row it went to. Upstream reads the merged
 * tensor as [unm, B] even with a distillation token, whose order is [unm[0], B[0], unm[1:], B[1:]],
 * so there the rows come out permuted; we reproduce that. `nUnm` null: nothing was merged.
 */
function officialUnmerge(merged: number[][][], target: number[][], nUnm: number | null, distillToken: boolean): number[][][] {
  const plainRow = (row: number): number => {
    if (nUnm === null || !distillToken || row === 0) return row;
    if (row === 1) return nUnm;
    return row <= nUnm ? row - 1 : row;
  };
  return target.map((rows, b) => rows.map((row) => merged[b][plainRow(row)]));
}
