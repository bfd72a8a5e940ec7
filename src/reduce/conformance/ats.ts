/**
 * Runs an ATS conformance case (cases/ats) through our ATS: the official AdaptiveTokenSampler with
 * the given attention and values injected and the projection replaced by the identity, so
 * `x_out = (sampled attention rows @ v) · policy`. Batched like the official module: slots are
 * [CLS, picks…, empty]; with `drop_tokens` every image is cut to the batch's largest kept count.
 */
import * as tf from '@tensorflow/tfjs';
import { batchedField, readEvidenceSync } from '../../tokens/evidence';
import { mergeHeads, valueNorms } from '../../model/ops';
import { atsEvidence, atsSampling, atsSignificanceAndSample, batchGather } from '../ats';
import type { EvidenceTensors } from '../../tokens/types';
import { floatTensor, readAhead, toNested, type CaseOutputs, type CaseRunner, type Nested } from './case';

/** Cases this large omit the duplicate-size intermediates (conformance README, "Large cases"). */
const LARGE_N = 100;

export const runAtsCase: CaseRunner = async (c) => {
  const p = c.params;
  const dropTokens = Boolean(p.drop_tokens);
  const made = tf.tidy(() => {
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
    // the rows come from the ATS softmax already: no eps terms to add (fused on WebGPU, as the engine runs)
    const { significance, sample } = atsSignificanceAndSample(clsAttn, valueNorms(mergeHeads(values)), sampling, false);
    // the sampling's numbers as the trace records them (the evidence the why view shows)
    const evidence = atsEvidence(significance, sample, sampling);
    const k = sample.keptTokens.shape[1];

    // Pre-drop tensors: one slot per sample, empty slots zero.
    const live = tf.cast(tf.greaterEqual(sample.keptTokens, 0), 'float32') as tf.Tensor2D; // [B, K]
    const rows = tf.maximum(sample.keptTokens, tf.scalar(0, 'int32')) as tf.Tensor2D;
    const queryRows = tf.transpose(batchGather(tf.transpose(attn, [0, 2, 1, 3]), rows), [0, 2, 1, 3]); // [B, H, K, N]
    const attnSel = tf.mul(queryRows, tf.reshape(live, [batch, 1, k, 1])) as tf.Tensor4D;
    const perHead = tf.matMul(attnSel, values); // [B, H, K, dh]
    const liveRows = tf.expandDims(live, 2) as tf.Tensor3D; // [B, K, 1]
    const xOut = tf.mul(tf.reshape(tf.transpose(perHead, [0, 2, 1, 3]), [batch, k, width]), liveRows) as tf.Tensor3D;
    const selectedX = tf.mul(batchGather(x, rows), liveRows) as tf.Tensor3D;
    return { evidence, xOut, selectedX, liveRows, attnSel, n, nTokens: sampling.nTokens } as unknown as tf.TensorContainer;
  }) as unknown as { evidence: EvidenceTensors; xOut: tf.Tensor3D; selectedX: tf.Tensor3D; liveRows: tf.Tensor3D; attnSel: tf.Tensor4D; n: number; nTokens: number };
  const tensors = [...Object.values(made.evidence.fields), made.xOut, made.selectedX, made.liveRows, made.attnSel];
  try {
    // read asynchronously first: the synchronous reads below then come from TF.js's copy (case.ts readAhead)
    await readAhead(tensors);
    const batch = made.xOut.shape[0];
    const evidence = readEvidenceSync(made.evidence, batch);
    const field = (name: string) => batchedField(evidence, name);
    const kept = field('keptTokens') as number[][];
    const nKept = kept.map((r) => r.filter((t) => t >= 0).length);
    const nonzero = kept.flatMap((r, b) => r.flatMap((t, slot) => (t >= 0 ? [[b, slot, 0]] : [])));
    const nOut = Math.max(...nKept);
    // with drop_tokens every image is cut to the batch's largest kept count (on the host: exact)
    const cut = (t: tf.Tensor) => {
      const nested = toNested(t) as unknown[][];
      return dropTokens ? nested.map((image) => image.slice(0, nOut)) : nested;
    };
    const out: CaseOutputs = {
      n_tokens_effective: made.nTokens,
      x_out: cut(made.xOut),
      selected_x: cut(made.selectedX),
      policy: cut(made.liveRows),
      sampler: dropTokens ? nonzero.map(([b, slot]) => b * made.nTokens + slot) : nonzero,
      n_kept: nKept,
      kept_token_indices: kept,
      sorted_scores: field('sortedScores'),
      sorted_indices: field('sortedIndices'),
      normalized_cdf: field('normalizedCdf'),
      ys: field('ys'),
      tokens_to_pick_ind: field('picks'),
      unique_indices: field('uniqueIndices'),
      pre_drop_policy: toNested(made.liveRows),
      pre_drop_sampler: nonzero,
    };
    if (made.n < LARGE_N) {
      out.pre_drop_selected_x = toNested(made.selectedX);
      out.pre_drop_attn = toNested(made.attnSel);
    }
    return out;
  } finally {
    tf.dispose(tensors);
  }
};
