/**
 * Runs DiffRate's conformance cases: cases/diffrate through `diffrateDecide` and the shared
 * assignment primitive (one block of patch/deit.py at 91ae3e3, before LN2/MLP), and
 * cases/diffrate_schedule through our copy of the published schedules, the token-count rule and
 * DiffRate's own FLOP counter.
 */
import * as tf from '@tensorflow/tfjs';
import { applyAssignment } from '../../tokens/assignment';
import { batchedField, readEvidenceSync } from '../../tokens/evidence';
import { diffrateDecide, diffrateEvidence } from '../diffrate';
import { diffrateCounts, diffrateOfficialFlops, diffrateSchedule } from '../diffrate-schedules';
import { floatTensor, toNested, type CaseOutputs, type SyncCaseRunner, type Nested } from './case';

export const runDiffrateCase: SyncCaseRunner = (c) => {
  const params = { pruneKept: Number(c.params.prune_kept_num), mergeKept: Number(c.params.merge_kept_num) };
  let out: CaseOutputs = {};
  tf.tidy(() => {
    const x = floatTensor(c.inputs.x as Nested) as tf.Tensor3D;
    const clsAttn = floatTensor(c.inputs.cls_attn as Nested) as tf.Tensor3D;
    const size = floatTensor(c.inputs.size as Nested) as tf.Tensor3D;
    const [batch, n] = x.shape;
    const decision = diffrateDecide(x, clsAttn, params);
    const { assignment, sizeCoeff } = decision;
    const counts = diffrateCounts(n, params);
    const evidence = readEvidenceSync(diffrateEvidence(decision, params, n), batch);
    out = {
      n_after_prune: counts.nPruned,
      merged: params.mergeKept < params.pruneKept,
      n_out: assignment.nOut,
      x_out: toNested(applyAssignment(assignment, x)),
      size_out: toNested(applyAssignment({ ...assignment, coeff: sizeCoeff }, size)),
      // upstream max-merges the 0/1 lineage rows; each group's rows are disjoint, so the sum is the same
      source_out:
        c.inputs.source === null
          ? null
          : toNested(applyAssignment({ ...assignment, coeff: tf.onesLike(sizeCoeff) }, floatTensor(c.inputs.source as Nested) as tf.Tensor3D)),
      idx: batchedField(evidence, 'order'),
      cls_attn_mean: batchedField(evidence, 'clsAttnMean'),
      node_max: counts.merges ? batchedField(evidence, 'nodeMax') : null,
      dst_idx: counts.merges ? batchedField(evidence, 'dstIdx') : null,
    };
  });
  return out;
};

interface ScheduleEntry {
  model: string;
  target_flops: string;
}

export const runDiffrateScheduleCase: SyncCaseRunner = (c) => {
  const entries = c.inputs.entries as unknown as ScheduleEntry[];
  const hidden = Number(c.params.embed_dim);
  const rows = entries.map((e) => {
    const schedule = diffrateSchedule(Number(e.target_flops));
    if (!schedule || schedule.model !== e.model) throw new Error(`no published DiffRate schedule ${e.model} ${e.target_flops} in our table`);
    const tokensIn: number[] = [];
    const tokensOut: number[] = [];
    let n = Number(c.params.num_patches) + 1;
    schedule.prune.forEach((pruneKept, l) => {
      tokensIn.push(n);
      n = diffrateCounts(n, { pruneKept, mergeKept: schedule.merge[l] }).nOut;
      tokensOut.push(n);
    });
    return { schedule, tokensIn, tokensOut, gflops: diffrateOfficialFlops(tokensIn, tokensOut, hidden) / 1e9 };
  });
  return {
    prune_kept_num: rows.map((r) => r.schedule.prune),
    merge_kept_num: rows.map((r) => r.schedule.merge),
    tokens_in: rows.map((r) => r.tokensIn),
    tokens_out: rows.map((r) => r.tokensOut),
    gflops_official: rows.map((r) => r.gflops),
  };
};
