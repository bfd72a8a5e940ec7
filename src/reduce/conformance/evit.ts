/**
 * Runs an EViT conformance case (cases/evit) through our EViT: the official `Block.forward` with
 * zeroed residual branches, so `x_out` is the reorganised input `[x_cls, x[1 + idx], fused]`.
 */
import * as tf from '@tensorflow/tfjs';
import { applyAssignment } from '../../tokens/assignment';
import { batchedField, readEvidenceSync } from '../../tokens/evidence';
import { evitEvidence, evitLeftTokens, evitSelect } from '../evit';
import { floatTensor, toNested, type CaseOutputs, type SyncCaseRunner, type Nested } from './case';

export const runEvitCase: SyncCaseRunner = (c) => {
  const p = c.params;
  const tokens = p.tokens === null || p.tokens === undefined ? null : Number(p.tokens);
  const fuse = Boolean(p.fuse_token);
  let out: CaseOutputs = {};
  // Everything is read back inside the tidy, which then disposes every tensor made here.
  tf.tidy(() => {
    const x = floatTensor(c.inputs.x as Nested) as tf.Tensor3D; // [B, N, C]
    const clsAttn = floatTensor(c.inputs.cls_attn as Nested) as tf.Tensor3D; // [B, H, N]
    const n = x.shape[1];
    const left = evitLeftTokens(n, { keepRate: Number(p.keep_rate), blockKeepRate: Number(p.block_keep_rate), tokens });
    out = {
      left_tokens: left,
      n_tokens: n - 1,
      x_out: toNested(x),
      idx: null,
      kept_token_indices: null,
      cls_attn_mean: null,
      compl: null,
      fused_token: null,
    };
    if (left === n - 1) return; // the official early return: input untouched, no indices

    const selection = evitSelect(clsAttn, left, fuse);
    const { assignment } = selection;
    const rows = toNested(applyAssignment(assignment, x)) as unknown[][];
    // the decision's numbers as the trace records them (the evidence the why view shows)
    const evidence = readEvidenceSync(evitEvidence(selection, fuse ? 'evit' : 'topk', 1), x.shape[0]);
    const kept = batchedField(evidence, 'keptIdx') as number[][];
    out.n_tokens = assignment.nOut - 1;
    out.x_out = rows;
    out.idx = kept;
    out.kept_token_indices = kept.map((r) => [0, ...r.map((i) => i + 1)]);
    out.cls_attn_mean = batchedField(evidence, 'clsAttnMean');
    if (fuse) {
      // the dropped tokens, ascending (helpers.complement_idx): those sent to the fused row
      const target = assignment.target.arraySync() as number[][];
      out.compl = target.map((r) => r.flatMap((t, token) => (token > 0 && t === assignment.fusedRow ? [token - 1] : [])));
      out.fused_token = rows.map((r) => r[r.length - 1]);
    }
  });
  return out;
};
