/**
 * Runs a cases/pitome conformance case through `pitomeMatch` and the shared assignment primitive,
 * and returns the fields the official harness recorded (algo/pitome/merge.py, pitome_vision, at
 * HEAD 550b5de). Where upstream raises, the case gets an `error` field instead.
 */
import * as tf from '@tensorflow/tfjs';
import { applyAssignment, assignmentMatrix, sumInto, weightedMeanCoeffs } from '../../tokens/assignment';
import { batchedField, readEvidenceSync } from '../../tokens/evidence';
import { disposePitomeMatch, officialPitomeError, pitomeEvidence, pitomeMatch, pitomeR, type PitomeIndices, type PitomeLayerParams } from '../pitome';
import { floatTensor, readAhead, toNested, type CaseOutputs, type CaseRunner } from './case';

interface PitomeCaseParams {
  ratio: number;
  margin: number;
  alpha: number;
  class_token: boolean;
  use_bsm_pitome: boolean;
}

export const runPitomeCase: CaseRunner = async (c) => {
  const p = c.params as unknown as PitomeCaseParams;
  const params: PitomeLayerParams = {
    ratio: p.ratio,
    margin: p.margin,
    alpha: p.alpha,
    mode: p.use_bsm_pitome ? 'bsm' : 'protect',
  };
  const x = floatTensor(c.inputs.x) as tf.Tensor3D; // [B, N, C]
  const metric = floatTensor(c.inputs.metric) as tf.Tensor3D; // [B, N, C']
  const [batch, n] = x.shape;
  const off = p.class_token ? 1 : 0;

  if (p.ratio >= 1) {
    // PiToMeBlock skips merging: x and size (possibly None) pass through.
    tf.dispose([x, metric]);
    return { noop: true, n_out: n, x_merged: c.inputs.x, size_merged: c.inputs.size };
  }
  const error = officialPitomeError(n - off, pitomeR(n - off, p.ratio), params.mode);
  if (error !== null) {
    tf.dispose([x, metric]);
    return { error };
  }

  const size = c.inputs.size === null ? (tf.ones([batch, n, 1]) as tf.Tensor3D) : (floatTensor(c.inputs.size) as tf.Tensor3D);
  const match = pitomeMatch(metric, params, { classToken: p.class_token, size });
  const { assignment, indices } = match;
  if (indices === null) throw new Error(`pitome ${c.case}: expected a decision for r = ${match.r}`);
  const tensors = tf.tidy(() => {
    const plainMean = weightedMeanCoeffs(assignment.target, tf.ones([batch, n]) as tf.Tensor2D, assignment.nOut);
    return {
      x_merged: applyAssignment(assignment, x),
      size_merged: sumInto(assignment, size),
      source_merged: assignmentMatrix(assignment.target, null, assignment.nOut), // merge_source of eye(N)
      x_merged_mean: applyAssignment({ ...assignment, coeff: plainMean }, x),
    };
  });
  await readAhead([...Object.values(tensors), x, ...Object.values(indices)]);
  // the decision's numbers as the trace records them (the evidence the why view shows)
  const evidence = readEvidenceSync(pitomeEvidence(match, params, p.class_token), batch);
  const field = (name: string) => batchedField(evidence, name);
  const out: CaseOutputs = {
    noop: false,
    r: match.r,
    n_out: assignment.nOut,
    ...Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, toNested(t)])),
    x_pruned: prunedRows(x.arraySync(), indices, off),
    energy_score: field('energy'),
    indices: field('order'),
    a_idx: field('aIdx'),
    b_idx: field('bIdx'),
    dst_idx: field('dstIdx'),
    ...(indices.protectedIdx ? { protected_idx: field('protectedIdx') } : {}),
    ...(indices.unmIdx ? { unm_idx: field('unmIdx') } : {}),
    ...(indices.srcIdx ? { src_idx: field('srcIdx') } : {}),
  };
  tf.dispose([x, metric, size, ...Object.values(tensors)]);
  disposePitomeMatch(match);
  return out;
};

/**
 * Upstream's prune(merge, x): the merge with the sources dropped instead of merged, i.e. the rows
 * [CLS, protected | unmerged A, B] taken from x unchanged.
 */
function prunedRows(x: number[][][], indices: PitomeIndices, off: number): number[][][] {
  const a = toNested(indices.aIdx) as number[][];
  const b = toNested(indices.bIdx) as number[][];
  const kept = indices.protectedIdx
    ? (toNested(indices.protectedIdx) as number[][])
    : (toNested(indices.unmIdx!) as number[][]).map((unm, i) => unm.map((j) => a[i][j]));
  return x.map((rows, i) => [...(off ? [rows[0]] : []), ...[...kept[i], ...b[i]].map((t) => rows[t + off])]);
}
