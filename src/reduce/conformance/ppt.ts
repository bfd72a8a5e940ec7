/**
 * Runs cases/ppt through `pptDecide` and the shared assignment primitive: one PP block of
 * ppt_deit.py (xjwu1024/PPT @ 706bcdd) before LN2/MLP, both branches, images split by S_op.
 */
import * as tf from '@tensorflow/tfjs';
import { applyAssignment, sumInto } from '../../tokens/assignment';
import { disposePptDecision, pptDecide } from '../ppt';
import { floatTensor, toNested, type CaseOutputs, type SyncCaseRunner, type Nested } from './case';

export const runPptCase: SyncCaseRunner = (c) => {
  const p = c.params;
  const params = { r: Number(p.r), threshold: Number(p.threshold), prop: Boolean(p.prop_attn) };
  let out: CaseOutputs = {};
  tf.tidy(() => {
    const x = floatTensor(c.inputs.x as Nested) as tf.Tensor3D;
    const k = floatTensor(c.inputs.k as Nested) as tf.Tensor4D; // [B, H, N, dh]
    const v = floatTensor(c.inputs.v as Nested) as tf.Tensor4D;
    const clsAttn = floatTensor(c.inputs.cls_attn as Nested) as tf.Tensor3D;
    const [batch, heads, n, dh] = v.shape;
    const metric = tf.mean(k, 1) as tf.Tensor3D;
    const valueNorms = tf.norm(tf.reshape(tf.transpose(v, [0, 2, 1, 3]), [batch, n, heads * dh]), 'euclidean', 2) as tf.Tensor2D;
    const given = c.inputs.size === null ? null : (floatTensor(c.inputs.size as Nested) as tf.Tensor3D);
    // without prop_attn (or before any size exists) every PP block starts from ones
    const size = given && params.prop ? given : (tf.ones([batch, n, 1]) as tf.Tensor3D);
    const d = pptDecide(metric, clsAttn, valueNorms, size, params, true);
    const sOp = Array.from(d.sOp.dataSync());
    const pooled = d.pooled ? Array.from(d.pooled.dataSync()).map((f) => f === 1) : null;
    const images = (want: boolean) => (pooled ? pooled.flatMap((f, b) => (f === want ? [b] : [])) : null);
    const rowsOf = (t: tf.Tensor2D | undefined, imgs: number[] | null) => (t && imgs ? imgs.map((b) => (t.arraySync() as number[][])[b]) : null);
    out = {
      r_effective: d.rEff,
      n_out: d.assignment.nOut,
      pooling_imgs_indices: images(true),
      pruning_imgs_indices: images(false),
      x_out: toNested(applyAssignment(d.assignment, x)),
      size_out: d.rEff === 0 ? (given ? toNested(given) : null) : toNested(sumInto(d.assignment, size)),
      S_op: sOp,
      scores: toNested(d.scores),
      metric: toNested(metric),
      pruning_indices: d.pruneRows && images(false)!.length > 0 ? rowsOf(d.pruneRows, images(false)) : null,
      unm_idx: images(true)?.length ? rowsOf(d.match?.indices?.unmIdx, images(true)) : null,
      src_idx: images(true)?.length ? rowsOf(d.match?.indices?.srcIdx, images(true)) : null,
      dst_idx: images(true)?.length ? rowsOf(d.match?.indices?.dstIdx, images(true)) : null,
    };
    disposePptDecision(d);
  });
  return out;
};
