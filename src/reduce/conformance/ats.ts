/**
 * Runs an ATS conformance case (cases/ats) through our ATS: the official AdaptiveTokenSampler with
 * the given attention and values injected and the projection replaced by the identity, so
 * `x_out = (sampled attention rows @ v) · policy`. Batched like the official module: slots are
 * [CLS, picks…, empty]; with `drop_tokens` every image is cut to the batch's largest kept count.
 */
import * as tf from '@tensorflow/tfjs';
import { batchedField, readEvidenceSync } from '../../tokens/evidence';
import { atsEvidence, atsInverseTransformSample, atsSampling, atsSignificance, batchGather } from '../ats';
import { floatTensor, toNested, type CaseOutputs, type SyncCaseRunner, type Nested } from './case';

/** Cases this large omit the duplicate-size intermediates (conformance README, "Large cases"). */
const LARGE_N = 100;

export const runAtsCase: SyncCaseRunner = (c) => {
  const p = c.params;
  const dropTokens = Boolean(p.drop_tokens);
  let out: CaseOutputs = {};
  // Everything is read back inside the tidy, which then disposes every tensor made here.
  tf.tidy(() => {
    const x = floatTensor(c.inputs.x as Nested) as tf.Tensor3D; // [B, N, C]
    const v = floatTensor(c.inputs.v as Nested) as tf.Tensor4D; // [B, H, N, dh]
    const attn = floatTensor(c.inputs.attn as Nested) as tf.Tensor4D; // [B, H, N, N]
    const [batch, heads, n, dh] = v.shape;
    const width = heads * dh;
    const policyIn = c.inputs.policy_in
      ? (floatTensor(c.inputs.policy_in as Nested) as tf.Tensor3D) // [B, N, 1]
      : (tf.ones([batch, n, 1]) as tf.Tensor3D);
    const sampling = atsSampling(n, { nTokens: Number(p.n_tokens), nRef: Number(p.n_ref_tokens) });

    // The official forward multiplies q, k, v by the incoming policy: padded tokens have v = 0.
    const values = tf.mul(v, tf.reshape(policyIn, [batch, 1, n, 1])) as tf.Tensor4D;
    const clsAttn = tf.reshape(tf.slice(attn, [0, 0, 0, 0], [batch, heads, 1, n]), [batch, heads, n]) as tf.Tensor3D;
    const significance = atsSignificance(clsAttn, values);
    const sample = atsInverseTransformSample(significance, sampling);
    // the sampling's numbers as the trace records them (the evidence the why view shows)
    const evidence = readEvidenceSync(atsEvidence(significance, sample, sampling), batch);
    const field = (name: string) => batchedField(evidence, name);
    const k = sample.keptTokens.shape[1];

    // Pre-drop tensors: one slot per sample, empty slots zero.
    const live = tf.cast(tf.greaterEqual(sample.keptTokens, 0), 'float32') as tf.Tensor2D; // [B, K]
    const rows = tf.maximum(sample.keptTokens, tf.scalar(0, 'int32')) as tf.Tensor2D;
    const queryRows = tf.transpose(batchGather(tf.transpose(attn, [0, 2, 1, 3]), rows), [0, 2, 1, 3]); // [B, H, K, N]
    const attnSel = tf.mul(queryRows, tf.reshape(live, [batch, 1, k, 1])) as tf.Tensor4D;
    const perHead = tf.matMul(attnSel, values); // [B, H, K, dh]
    const liveRows = tf.expandDims(live, 2); // [B, K, 1]
    const xOut = tf.mul(tf.reshape(tf.transpose(perHead, [0, 2, 1, 3]), [batch, k, width]), liveRows);
    const selectedX = tf.mul(batchGather(x, rows), liveRows);

    const kept = field('keptTokens') as number[][];
    const nKept = kept.map((r) => r.filter((t) => t >= 0).length);
    const nonzero = kept.flatMap((r, b) => r.flatMap((t, slot) => (t >= 0 ? [[b, slot, 0]] : [])));
    const nOut = Math.max(...nKept);
    const cut = (t: tf.Tensor) => (dropTokens ? tf.slice(t, [0, 0, 0], [batch, nOut, t.shape[2] as number]) : t);

    out = {
      n_tokens_effective: sampling.nTokens,
      x_out: toNested(cut(xOut)),
      selected_x: toNested(cut(selectedX)),
      policy: toNested(cut(liveRows)),
      sampler: dropTokens ? nonzero.map(([b, slot]) => b * sampling.nTokens + slot) : nonzero,
      n_kept: nKept,
      kept_token_indices: kept,
      sorted_scores: field('sortedScores'),
      sorted_indices: field('sortedIndices'),
      normalized_cdf: field('normalizedCdf'),
      ys: field('ys'),
      tokens_to_pick_ind: field('picks'),
      unique_indices: field('uniqueIndices'),
      pre_drop_policy: toNested(liveRows),
      pre_drop_sampler: nonzero,
    };
    if (n < LARGE_N) {
      out.pre_drop_selected_x = toNested(selectedX);
      out.pre_drop_attn = toNested(attnSel);
    }
  });
  return out;
};
