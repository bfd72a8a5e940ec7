/**
 * ATS — Adaptive Token Sampler (Fayyaz et al., "Adaptive Token Sampler for Efficient Vision
 * Transformers", ECCV 2022).
 *
 * Slot: inside attention. Reads this block's post-softmax attention (only the CLS query row:
 * `clsAttn`, or sliced from `probs`) and the value norms (`valueNorms`). The ATS code base's
 * attention is a masked softmax with eps terms (softmax_with_policy; at B = 1 every token is live):
 * ATS applies them to the CLS row it scores by (`atsEpsTerms`), so its decisions see the official
 * values bit for bit. The block's own P·v keeps the engine's plain softmax: there the terms move
 * each output by at most 2·eps·max|v_j| (about 2e-6 of it, under the rounding by which any two
 * implementations of P·v differ; attention.test.ts checks the bound), and they would cost a max over
 * every [N, N] head and a correction pass, 15 % of an ATS block's attention on wasm.
 * Significance s_j = (sum over heads of P[h, 0, j]) · ‖v_j‖₂,
 * with ‖v_j‖ over the concatenated all-head value vector (dimension D), CLS dropped,
 * normalised to sum 1 over the patch tokens (no eps). Scores are sorted ascending, their CDF is
 * normalised to [0, 1] by (cdf − min) / (max − min), and M = n_ref − 1 values y_i run evenly from
 * the smallest non-zero normalised CDF value to 1 (torch.range steps 0..M − 1). Each y_i picks the
 * token with the nearest normalised CDF; duplicates collapse (get_unique_indices), so the kept
 * count is data-dependent and the least significant token is never picked at B = 1. The engine
 * then gathers these query rows of the attention (keys and values stay complete).
 *
 * Output order: [CLS, picked tokens in ascending significance].
 *
 * Integer and tie rules: K = nTokens clamped as the official forward does (> N → N; ≤ 1 → ratio
 * · N; < 8 → 8; Python round, half to even; > N → N). The official code only runs when K ==
 * min(N, n_ref): then M = n_ref − 1 CDF samples, the CDF is left-padded with zeros when N − 1 < M
 * (later stages) and cropped to its top M entries when N − 1 > M. Otherwise it raises; with
 * `paperKCap` we follow the paper instead and draw K − 1 samples over the whole CDF. Ascending sort
 * = tf.topk of the negation (lower index first on ties; torch.sort leaves ties unspecified);
 * nearest CDF entry = first index on ties, as torch.min. The dedup shift-compare pads with 1, as the
 * official code (a lone largest pick equal to 1 would count as a duplicate; practically unreachable).
 *
 * Batches: every decision is batched on device, but the kept count differs per image. The
 * engine runs ATS per image (B = 1 is the canonical reference: with padding the official results
 * depend on batch composition, docs/METHODS.md#ats); for B > 1 `reduce` pads to the largest count and
 * leaves the surplus rows of an image empty (no input token goes there).
 *
 * Paths: on wasm/cpu the decision runs in host memory (`atsSampleHost`); on WebGPU and WebGL, once
 * the device passed their check, as programs of our own (webgpu/ats-fused.ts: four WGSL programs;
 * webgl/ats-fused.ts: nine GLSL programs); elsewhere on generic TF.js ops
 * (`atsInverseTransformSample`), the reference the others are tested against.
 *
 * Distillation token: not supported (the ATS ViT has none; the official code would score and
 * possibly drop it like a patch), so `reduce` refuses a model that has one.
 *
 * Documented in docs/METHODS.md#ats. Official adaptivetokensampling/ATS@9271257:
 * libs/models/transformers/ats_block.py (AdaptiveTokenSampler), transformer_block.py
 * (softmax_with_policy). Conformance: tests/fixtures/conformance/cases/ats.
 */
import * as tf from '@tensorflow/tfjs';
import { invariant, TokenScopeError } from '../errors';
import { mergeHeads, valueNorms } from '../model/ops';
import { kernelsRunOnCpu } from '../tokens/kernel-paths';
import { fusedFamilyOn } from '../tokens/webgpu/kernel-status';
import { ATS_FAMILY, ATS_WGSL_PROGRAMS, atsFusedFits } from './webgpu/ats-fused';
import { ATS_GL_FAMILY, ATS_GL_PROGRAMS } from './webgl/ats-fused';
import type { AtsPrograms } from './shared/ats-programs';
import { selectionAssignment } from '../tokens/assignment';
import { clsAttentionRow } from './shared/cls-attention';
import { disposeEvidence, evidenceOf, stackImages } from '../tokens/evidence';
import type { DeferredReduction, EvidenceTensors, ReduceInput, Reduction } from '../tokens/types';
import type { Dims, Reducer } from './types';

export interface AtsLayerParams {
  /** K: the most tokens an ATS block keeps, CLS included; ≤ 1 is a ratio of N. Official config: 197. */
  nTokens: number;
  /** n_ref: the model's initial token count (197 at 224 px); fixes the number of CDF samples. */
  nRef: number;
  /**
   * When K < min(N, n_ref), where the official code raises a shape error: draw K − 1 samples over
   * the whole CDF, as the paper describes its single-stage setting. Default false (official).
   */
  paperKCap?: boolean;
}

/** eps of the ATS code base's masked softmax (softmax_with_policy). */
export const ATS_SOFTMAX_EPS = 1e-6;

/**
 * The masked softmax of the ATS code base (softmax_with_policy): with m_ij = p_j + (1 − p_j)·[i == j],
 * P_ij = (exp(L_ij − max_j L_ij)·m_ij + eps/N) / (sum_j exp(…)·m_ij + eps), eps = 1e-6; the max is
 * over all keys, masked or not. `logits` [B, H, N, N]; `policy` [B, N, 1] (1 = live token) or
 * null for all ones. Caller disposes.
 */
export function atsMaskedSoftmax(logits: tf.Tensor4D, policy: tf.Tensor3D | null, eps = ATS_SOFTMAX_EPS): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, , , n] = logits.shape;
    const keep = policy ? tf.reshape(policy, [batch, 1, 1, n]) : tf.ones([batch, 1, 1, n]);
    const eye = tf.reshape(tf.eye(n), [1, 1, n, n]);
    const mask = tf.add(keep, tf.mul(tf.sub(1, keep), eye)); // [B, 1, N, N]
    const shifted = tf.sub(logits, tf.max(logits, -1, true));
    const e = tf.mul(tf.exp(shifted), mask);
    return tf.div(tf.add(e, eps / n), tf.add(tf.sum(e, -1, true), eps)) as tf.Tensor4D;
  });
}

/**
 * The eps terms of `atsMaskedSoftmax` with every token live, applied to rows s of a plain softmax
 * (last axis): with m = max s = 1/S (the largest term is exp(0) = 1),
 * (exp(L − max) + eps/N) / (S + eps) = (s + eps/N · m) / (1 + eps · m) — equal up to float rounding,
 * and on wasm three cheap ops instead of the explicit form's unvectorised exp (0.74 ms per [197, 197]
 * head). Any subset of rows gives those rows of the full result, bit for bit. Caller disposes.
 */
export function atsEpsTerms<T extends tf.Tensor>(s: T, eps = ATS_SOFTMAX_EPS): T {
  return tf.tidy(() => {
    const n = s.shape[s.rank - 1];
    const top = tf.max(s, -1, true);
    return tf.div(tf.add(s, tf.mul(top, eps / n)), tf.add(tf.mul(top, eps), 1)) as T;
  });
}

/**
 * `atsSignificanceOfNorms(atsEpsTerms(clsRows), norms)` for one image in host memory: `clsRows` the
 * plain softmax's CLS rows [H·N] (head-major), `norms` [N]; returns the normalised significance of
 * the N − 1 tokens after CLS. Each float32 operation of the device version in the same order
 * (Math.fround after each; TF.js's wasm Sum adds in index order from 0), checked bit for bit in
 * fast-paths.test.ts.
 */
export function atsSignificanceHost(clsRows: Float32Array, norms: Float32Array, heads: number, eps = ATS_SOFTMAX_EPS): Float32Array {
  const f = Math.fround;
  const n = norms.length;
  const [liftScale, denomScale] = [f(eps / n), f(eps)];
  const attention = new Float32Array(n); // summed over heads
  for (let h = 0; h < heads; h++) {
    const row = clsRows.subarray(h * n, (h + 1) * n);
    let top = -Infinity;
    for (let j = 0; j < n; j++) if (row[j] > top) top = row[j];
    const lift = f(top * liftScale);
    const denominator = f(f(top * denomScale) + 1);
    for (let j = 0; j < n; j++) attention[j] = f(attention[j] + f(f(row[j] + lift) / denominator));
  }
  const scored = new Float32Array(n - 1);
  let total = 0;
  for (let j = 1; j < n; j++) total = f(total + (scored[j - 1] = f(attention[j] * norms[j])));
  for (let j = 0; j < n - 1; j++) scored[j] = f(scored[j] / total);
  return scored;
}

/** Python's round(): nearest integer, halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** K after the official forward's clamping (ats_block.py AdaptiveTokenSampler.forward). */
export function atsEffectiveTokens(nTokens: number, n: number): number {
  let k = nTokens;
  if (k > n) k = n;
  if (k <= 1) k = k * n;
  if (k < 8) k = 8;
  k = roundHalfEven(k);
  return n < k ? n : k;
}

/** How one ATS block samples at N tokens. */
export interface AtsSampling {
  /** K, CLS included. */
  nTokens: number;
  /** M: how many CDF values are sampled. */
  samples: number;
  /** Crop the CDF to its top M entries when there are more scored tokens than samples (official); false: sample the whole CDF (paper). */
  crop: boolean;
}

/** The sampling an ATS block does at N tokens, or 'param-out-of-range' where the official code raises. */
export function atsSampling(n: number, params: AtsLayerParams): AtsSampling {
  if (!(params.nTokens > 0)) {
    throw new TokenScopeError('param-out-of-range', `ATS nTokens ${params.nTokens} must be > 0; try 197 (keep up to every token)`);
  }
  if (!(Number.isInteger(params.nRef) && params.nRef > 2)) {
    throw new TokenScopeError('param-out-of-range', `ATS nRef ${params.nRef} must be the model's initial token count, e.g. 197`);
  }
  const nTokens = atsEffectiveTokens(params.nTokens, n);
  if (nTokens === Math.min(n, params.nRef)) {
    return { nTokens, samples: params.nRef - 1, crop: true };
  }
  if (params.paperKCap) {
    return { nTokens, samples: nTokens - 1, crop: false };
  }
  throw new TokenScopeError(
    'param-out-of-range',
    `ATS keeps at most K = ${nTokens} of ${n} tokens, but the official code only runs with K = min(N, nRef) = ` +
      `${Math.min(n, params.nRef)}; use nTokens 197, or turn on paperKCap to draw K − 1 samples`,
  );
}

/**
 * Normalised significance [B, N − 1] of the tokens after CLS. `clsAttn` [B, H, N] is the CLS
 * query row of the attention; `values` [B, H, N, dh]. Caller disposes.
 */
export function atsSignificance(clsAttn: tf.Tensor3D, values: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => atsSignificanceOfNorms(clsAttn, valueNorms(mergeHeads(values))));
}

/** `atsSignificance` from the value norms [B, N] (‖v_j‖ over all heads, `ops.valueNorms`). Caller disposes. */
export function atsSignificanceOfNorms(clsAttn: tf.Tensor3D, norms: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, , n] = clsAttn.shape;
    const score = tf.mul(tf.sum(clsAttn, 1), norms); // [B, N]
    const scored = tf.slice(score, [0, 1], [batch, n - 1]);
    return tf.div(scored, tf.sum(scored, 1, true)) as tf.Tensor2D;
  });
}

/**
 * out[b, k, …] = params[b, indices[b, k], …] for params [B, N, …] and int32 indices [B, K].
 * tf.gather(params, indices, 1, 1) would say this, but the wasm backend's batchDims gather returns
 * wrong rows for b > 0 (tfjs 4.22), so the batch is folded into the row index instead.
 * Caller disposes.
 */
export function batchGather<T extends tf.Tensor>(params: T, indices: tf.Tensor2D): T {
  return tf.tidy(() => {
    const [batch, n, ...rest] = params.shape;
    const k = indices.shape[1];
    const offsets = tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(n, 'int32')); // [B]
    const flatIndices = tf.reshape(tf.add(indices, tf.expandDims(offsets, 1)), [batch * k]);
    const rows = tf.gather(tf.reshape(params, [batch * n, ...rest]), flatIndices, 0);
    return tf.reshape(rows, [batch, k, ...rest]) as T;
  });
}

/** torch.linspace(0, 1, m) in float32: start + step·i in the first half, end − step·(m − 1 − i) after. */
function torchLinspace01(m: number): Float32Array {
  const step = Math.fround(1 / (m - 1));
  const half = Math.floor(m / 2);
  return Float32Array.from({ length: m }, (_, i) => (i < half ? Math.fround(step * i) : Math.fround(1 - Math.fround(step * (m - 1 - i)))));
}

/** Ascending sort along the last axis: [values, indices]; lower index first on ties. */
function sortAscending(t: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const { values, indices } = tf.topk(tf.neg(t), t.shape[1]);
  return [tf.neg(values) as tf.Tensor2D, indices as tf.Tensor2D];
}

/** Every step of inverse transform sampling, [B, …] each; see `atsInverseTransformSample`. */
export interface AtsSample {
  /** [B, T] ascending significance, and the index among the tokens after CLS (token = index + 1) of each. */
  sortedScores: tf.Tensor2D;
  sortedIndices: tf.Tensor2D;
  /** [B, T] (cdf − min) / (max − min). */
  normalizedCdf: tf.Tensor2D;
  /** [B, M] the sampled CDF values. */
  ys: tf.Tensor2D;
  /** [B, M] int32: the nearest CDF position of each y (positions in the sorted order). */
  picks: tf.Tensor2D;
  /** [B, M] int32: picks ascending with duplicates replaced by T and sorted last (get_unique_indices). */
  uniqueIndices: tf.Tensor2D;
  /** [B, 1 + min(M, T)] int32: input token of every output slot (CLS first), −1 = empty slot. */
  keptTokens: tf.Tensor2D;
}

/**
 * Inverse transform sampling on the normalised significance `scores` [B, T] (docs/METHODS.md#ats,
 * steps 2–4), batched and on device. Caller disposes every tensor of the result.
 */
export function atsInverseTransformSample(scores: tf.Tensor2D, sampling: AtsSampling): AtsSample {
  const [batch, t] = scores.shape;
  const m = sampling.samples;
  invariant(m >= 2 && t >= 1, `ATS needs at least 2 samples and 1 scored token, got M = ${m}, T = ${t}`);
  const result: AtsSample = tf.tidy(() => {
    const [sortedScores, sortedIndices] = sortAscending(scores);
    const cdf = tf.cumsum(sortedScores, 1);
    const cdfMin = tf.min(cdf, 1, true);
    const normalizedCdf = tf.div(tf.sub(cdf, cdfMin), tf.sub(tf.max(cdf, 1, true), cdfMin)) as tf.Tensor2D;

    // create_ys: y0 = smallest non-zero normalised CDF value (zeros lifted by 1e8), then
    // y_i = y0 + (linspace_i·(M − 1) − y0·i) / (M − 1), i = 0..M − 1, which ends at exactly 1.
    const y0 = tf.min(tf.add(normalizedCdf, tf.mul(tf.cast(tf.equal(normalizedCdf, 0), 'float32'), 1e8)), 1, true);
    const steps = tf.expandDims(tf.range(0, m, 1, 'float32'), 0); // [1, M]
    const lin = tf.tensor2d(torchLinspace01(m), [1, m]);
    const ys = tf.add(y0, tf.div(tf.sub(tf.mul(lin, m - 1), tf.mul(y0, steps)), m - 1)) as tf.Tensor2D; // [B, M]

    // The CDF window the ys are matched against: left-padded with zeros to M entries when there
    // are fewer scored tokens than samples; cropped to its top M entries when there are more (official).
    let offset = 0;
    let window = normalizedCdf as tf.Tensor2D;
    if (m > t) {
      offset = m - t;
      window = tf.concat([tf.zeros([batch, offset]), normalizedCdf], 1);
    } else if (m < t && sampling.crop) {
      offset = m - t;
      window = tf.slice(normalizedCdf, [0, t - m], [batch, m]);
    }
    const distance = tf.abs(tf.sub(tf.expandDims(ys, 2), tf.expandDims(window, 1))); // [B, M, W]
    // first index on ties: ArgMin's strict comparison on the CPU backends (0.03 ms for [196, 196] on
    // wasm, against 0.53 ms for a k = 1 TopK); TopK, which puts the lower index first, elsewhere
    const nearest = kernelsRunOnCpu() ? tf.argMin(distance, 2) : tf.squeeze(tf.topk(tf.neg(distance), 1).indices, [2]);
    const picks = tf.sub(nearest, tf.scalar(offset, 'int32')) as tf.Tensor2D; // [B, M]

    // get_unique_indices: in the ascending picks, a value equal to its right neighbour (the last
    // one is compared with 1) becomes T; sort again, so unique positions come first.
    const sortedPicks = tf.neg(tf.topk(tf.neg(picks), m).values) as tf.Tensor2D;
    const shiftLeft = tf.concat([tf.slice(sortedPicks, [0, 1], [batch, m - 1]), tf.fill([batch, 1], 1, 'int32')], 1);
    const marked = tf.where(tf.equal(shiftLeft, sortedPicks), tf.fill([batch, m], t, 'int32'), sortedPicks);
    const uniqueIndices = tf.neg(tf.topk(tf.neg(marked), m).values) as tf.Tensor2D;

    // Slots: CLS, then the input token of each unique position (T → −1, an empty slot).
    const used = tf.slice(uniqueIndices, [0, 0], [batch, Math.min(m, t)]);
    const tokenOf = tf.concat([tf.add(sortedIndices, tf.scalar(1, 'int32')), tf.fill([batch, 1], -1, 'int32')], 1);
    const keptTokens = tf.concat([tf.zeros([batch, 1], 'int32'), batchGather(tokenOf, used)], 1) as tf.Tensor2D;
    return { sortedScores, sortedIndices, normalizedCdf, ys, picks, uniqueIndices, keptTokens };
  });
  return result;
}

/**
 * Significance and inverse transform sampling of one block from the CLS rows [B, H, N] and the
 * value norms [B, N]: our own programs where the device passed their check (webgpu/ats-fused.ts,
 * webgl/ats-fused.ts), else `atsSignificanceOfNorms` and `atsInverseTransformSample`. `epsTerms`
 * applies `atsEpsTerms` to rows of a plain softmax (the engine's); off for rows that come from the
 * ATS softmax already. Caller disposes every tensor of the result.
 */
export function atsSignificanceAndSample(
  clsRows: tf.Tensor3D,
  norms: tf.Tensor2D,
  sampling: AtsSampling,
  epsTerms: boolean,
): { significance: tf.Tensor2D; sample: AtsSample } {
  const programs = atsPrograms(clsRows, sampling);
  if (programs) {
    return tf.tidy(() => programs.fields(programs.decide(clsRows, norms, sampling, epsTerms, ATS_SOFTMAX_EPS)) as unknown as tf.TensorContainer) as unknown as {
      significance: tf.Tensor2D;
      sample: AtsSample;
    };
  }
  const significance = tf.tidy(() => atsSignificanceOfNorms(epsTerms ? atsEpsTerms(clsRows) : clsRows, norms));
  return { significance, sample: atsInverseTransformSample(significance, sampling) };
}

/** The programs of our own this decision runs as (WebGPU or WebGL, checked on this device), or null for the generic ops. */
function atsPrograms(clsRows: tf.Tensor3D, sampling: AtsSampling): AtsPrograms<unknown> | null {
  const [, heads, n] = clsRows.shape;
  invariant(sampling.samples >= 2 && n >= 2, `ATS needs at least 2 samples and 1 scored token, got M = ${sampling.samples}, T = ${n - 1}`);
  if (fusedFamilyOn(ATS_FAMILY) && atsFusedFits(heads)) return ATS_WGSL_PROGRAMS as AtsPrograms<unknown>;
  if (fusedFamilyOn(ATS_GL_FAMILY)) return ATS_GL_PROGRAMS as AtsPrograms<unknown>;
  return null;
}

export function disposeAtsSample(sample: AtsSample): void {
  tf.dispose(Object.values(sample));
}

/** Keeps rows 0..n-1 of every image: nothing to rank with one token besides CLS. */
function keepAll(batch: number, n: number): Reduction {
  const rows = tf.tidy(() => tf.tile(tf.expandDims(tf.range(0, n, 1, 'int32'), 0), [batch, 1]) as tf.Tensor2D);
  const assignment = selectionAssignment(rows, n);
  rows.dispose();
  return { assignment };
}

/**
 * ATS in two steps: sample on device, then — once the engine has read the kept count back —
 * select the first `nOut` slots. Slots are packed (live ones first), so the largest per-image
 * count is the width; narrower images get empty slots (-1, no input).
 */
function reduceAtsDeferred(input: ReduceInput, params: AtsLayerParams): DeferredReduction {
  invariant(input.classToken, 'ATS scores tokens by the class token attention; this model has no class token');
  const { valueNorms: norms } = input.attention;
  invariant(!input.distillToken, 'ATS has no rule for a distillation token (the official code would drop it like a patch)');
  invariant(norms, 'ATS needs the value norms (needs: clsAttn, valueNorms)');
  const [batch, n] = input.x.shape;
  if (n <= 2) {
    // One token besides CLS leaves nothing to rank (the official CDF would be 0/0): keep both.
    const count = tf.keep(tf.scalar(n, 'int32')); // outlives the engine's tidy until dispose()
    const complete = () => {
      const kept = keepAll(batch, n);
      if (input.evidence) kept.evidence = evidenceOf('ats', {}, { idle: 'one token besides CLS: nothing to rank' });
      return kept;
    };
    return { read: count, complete, dispose: () => count.dispose() };
  }
  const sampling = atsSampling(n, params);
  if (kernelsRunOnCpu()) return sampledOnHost(input, norms, sampling);
  const rows = clsAttentionRow(input);
  const programs = atsPrograms(rows, sampling);
  if (programs) return sampledByPrograms(programs, input, rows, norms, sampling);
  const scores = tf.tidy(() => atsSignificanceOfNorms(atsEpsTerms(rows), norms));
  if (rows !== input.attention.clsAttn) rows.dispose();
  const sample = atsInverseTransformSample(scores, sampling);
  const keptTokens = tf.keep(tf.clone(sample.keptTokens));
  const count = tf.keep(tf.tidy(() => tf.max(tf.sum(tf.cast(tf.greaterEqual(keptTokens, tf.scalar(0, 'int32')), 'int32'), 1)) as tf.Scalar));
  // kept past the engine's tidy until complete() hands it on, or dispose() frees it
  let evidence: EvidenceTensors | undefined;
  if (input.evidence) {
    evidence = atsEvidence(scores, sample, sampling);
    Object.values(evidence.fields).forEach((t) => tf.keep(t));
  } else {
    scores.dispose();
    disposeAtsSample(sample);
  }
  return {
    read: count,
    complete([nOut]) {
      const rows = tf.slice(keptTokens, [0, 0], [batch, nOut]) as tf.Tensor2D;
      const assignment = selectionAssignment(rows, n);
      rows.dispose();
      const reduction: Reduction = { assignment };
      if (evidence) reduction.evidence = evidence;
      evidence = undefined;
      return reduction;
    },
    dispose: () => {
      tf.dispose([keptTokens, count]);
      disposeEvidence(evidence);
    },
  };
}

/**
 * The deferred decision by our own programs: the decision and the kept count at once, the
 * selection once the count is back; the decision's tensors live until dispose(). Evidence, when
 * asked for, is cut from them (a few programs more).
 */
function sampledByPrograms<D>(programs: AtsPrograms<D>, input: ReduceInput, rows: tf.Tensor3D, norms: tf.Tensor2D, sampling: AtsSampling): DeferredReduction {
  const n = input.x.shape[1];
  const decision = programs.decide(rows, norms, sampling, true, ATS_SOFTMAX_EPS);
  if (rows !== input.attention.clsAttn) rows.dispose();
  const kept = programs.tensors(decision);
  kept.forEach((t) => tf.keep(t)); // outlive the engine's tidy until dispose()
  const count = tf.keep(programs.count(decision));
  let evidence: EvidenceTensors | undefined;
  if (input.evidence) {
    const { significance, sample } = programs.fields(decision);
    evidence = atsEvidence(significance, sample, sampling);
    Object.values(evidence.fields).forEach((t) => tf.keep(t));
  }
  return {
    read: count,
    complete([nOut]) {
      const reduction: Reduction = { assignment: programs.assignment(decision, n, nOut) };
      if (evidence) reduction.evidence = evidence;
      evidence = undefined;
      return reduction;
    },
    dispose: () => {
      tf.dispose([...kept, count]);
      disposeEvidence(evidence);
    },
  };
}

/**
 * The evidence of a sampling (its tensors move into it): `significance` [B, T] of the tokens after
 * CLS (token = index + 1), the ascending scores and their tokens, the normalised CDF, the draws
 * `ys` and the CDF position each lands on (`picks`), the de-duplicated positions, and the kept
 * tokens per output slot (CLS first, −1 an empty slot).
 */
export function atsEvidence(significance: tf.Tensor2D, sample: AtsSample, sampling: AtsSampling): EvidenceTensors {
  return evidenceOf('ats', { significance, ...sample }, { samples: sampling.samples, nTokens: sampling.nTokens, crop: sampling.crop });
}

/**
 * `atsInverseTransformSample` for one image whose normalised significance `scores` (T values) is in
 * host memory: the kept tokens, CLS first, then the picked tokens in ascending significance, −1 for
 * empty slots ([1 + min(M, T)]). Every float step is the device's float32 operation in the same
 * order (Math.fround after each); sorting, nearest-CDF search (first index on ties) and
 * de-duplication are exact. Used on the CPU backends (see shared/matching.ts, "Decisions in host
 * memory"); tests check it against the device version.
 */
export function atsKeptTokensHost(scores: ArrayLike<number>, sampling: AtsSampling): Int32Array {
  return atsSampleHost(scores, sampling).keptTokens;
}

/** Every step of `atsKeptTokensHost` for one image, as `AtsSample` holds them on device. */
export interface AtsHostSample {
  sortedScores: Float32Array;
  sortedIndices: Int32Array;
  normalizedCdf: Float32Array;
  ys: Float32Array;
  picks: Int32Array;
  uniqueIndices: Int32Array;
  keptTokens: Int32Array;
}

/** `atsKeptTokensHost` with every intermediate kept (the evidence of the host path). */
export function atsSampleHost(scores: ArrayLike<number>, sampling: AtsSampling): AtsHostSample {
  const f = Math.fround;
  const t = scores.length;
  const m = sampling.samples;
  const order: number[] = [];
  for (let i = 0; i < t; i++) order.push(i);
  order.sort((a, b) => scores[a] - scores[b] || a - b);
  const cdf = new Float32Array(t);
  let acc = 0;
  for (let k = 0; k < t; k++) cdf[k] = acc = k === 0 ? f(scores[order[0]]) : f(acc + scores[order[k]]);
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < t; k++) {
    if (cdf[k] < lo) lo = cdf[k];
    if (cdf[k] > hi) hi = cdf[k];
  }
  const span = f(hi - lo);
  const ncdf = new Float32Array(t);
  let y0 = Infinity;
  for (let k = 0; k < t; k++) {
    const v = (ncdf[k] = f(f(cdf[k] - lo) / span));
    const lifted = v === 0 ? 1e8 : v;
    if (lifted < y0) y0 = lifted;
  }
  const lin = torchLinspace01(m);
  const ys = new Float32Array(m);
  for (let i = 0; i < m; i++) ys[i] = f(y0 + f(f(f(lin[i] * (m - 1)) - f(y0 * i)) / (m - 1)));
  let offset = 0;
  let window: Float32Array = ncdf;
  if (m > t) {
    offset = m - t;
    window = new Float32Array(m);
    window.set(ncdf, offset);
  } else if (m < t && sampling.crop) {
    offset = m - t;
    window = ncdf.subarray(t - m);
  }
  // Nearest window entry of each y, first index on ties. The window and the ys ascend, and float32
  // rounding is monotone, so |y − w_j| falls and then rises along j: the minimum sits at the last
  // entry below y or the first at or above it, and the first index holding that minimum is found by
  // walking left over equal distances. One pass over both (the search pointer only moves right).
  const w = window.length;
  const picks = new Int32Array(m);
  let above = 0; // first window entry ≥ y
  for (let i = 0; i < m; i++) {
    const y = ys[i];
    while (above < w && window[above] < y) above++;
    let at = above;
    if (above === w || (above > 0 && Math.abs(f(y - window[above - 1])) <= Math.abs(f(y - window[above])))) {
      at = above - 1;
      const d = Math.abs(f(y - window[at]));
      while (at > 0 && Math.abs(f(y - window[at - 1])) === d) at--;
    }
    picks[i] = at - offset;
  }
  const picksInDrawOrder = picks.slice();
  picks.sort();
  // get_unique_indices: a value equal to its right neighbour (the last compared with 1) becomes T
  const unique = new Int32Array(m);
  for (let i = 0; i < m; i++) unique[i] = (i < m - 1 ? picks[i + 1] : 1) === picks[i] ? t : picks[i];
  unique.sort();
  const slots = Math.min(m, t);
  const kept = new Int32Array(1 + slots);
  for (let i = 0; i < slots; i++) kept[1 + i] = unique[i] < t ? order[unique[i]] + 1 : -1;
  return {
    sortedScores: Float32Array.from(order, (i) => scores[i]),
    sortedIndices: Int32Array.from(order),
    normalizedCdf: ncdf,
    ys,
    picks: picksInDrawOrder,
    uniqueIndices: unique,
    keptTokens: kept,
  };
}

/** The deferred decision of the CPU backends: the CLS rows and value norms read back, significance and sampling in JS. */
function sampledOnHost(input: ReduceInput, norms: tf.Tensor2D, sampling: AtsSampling): DeferredReduction {
  const [batch, n] = input.x.shape;
  const rows = clsAttentionRow(input);
  const heads = rows.shape[1];
  const clsRows = rows.dataSync() as Float32Array;
  if (rows !== input.attention.clsAttn) rows.dispose();
  const normValues = norms.dataSync() as Float32Array;
  const significances: Float32Array[] = [];
  const samples = Array.from({ length: batch }, (_, b) => {
    const scores = atsSignificanceHost(clsRows.subarray(b * heads * n, (b + 1) * heads * n), normValues.subarray(b * n, (b + 1) * n), heads);
    significances.push(scores);
    return atsSampleHost(scores, sampling);
  });
  const kept = samples.map((s) => s.keptTokens);
  const nOut = Math.max(...kept.map((k) => k.filter((v) => v >= 0).length));
  const count = tf.keep(tf.scalar(nOut, 'int32')); // outlives the caller's tidy, like the device version's
  return {
    read: count,
    complete([slots]) {
      const target = new Int32Array(batch * n).fill(-1);
      kept.forEach((k, b) => {
        for (let slot = 0; slot < slots; slot++) if (k[slot] >= 0) target[b * n + k[slot]] = slot;
      });
      const coeff = Float32Array.from(target, (v) => (v >= 0 ? 1 : 0));
      const reduction: Reduction = { assignment: { target: tf.tensor2d(target, [batch, n], 'int32'), coeff: tf.tensor2d(coeff, [batch, n]), nOut: slots } };
      const rows = new Int32Array(batch * slots);
      kept.forEach((k, b) => rows.set(k.subarray(0, slots), b * slots));
      if (rows.every((row) => row >= 0)) reduction.rows = tf.tensor2d(rows, [batch, slots], 'int32');
      if (input.evidence) reduction.evidence = atsHostEvidence(significances, samples, sampling);
      return reduction;
    },
    dispose: () => count.dispose(),
  };
}

/** `atsEvidence` of the host path: the same fields, stacked from each image's arrays. */
function atsHostEvidence(significances: Float32Array[], samples: AtsHostSample[], sampling: AtsSampling): EvidenceTensors {
  const field = (name: keyof AtsHostSample) => stackImages(samples.map((s) => s[name]));
  const sample: AtsSample = {
    sortedScores: field('sortedScores'),
    sortedIndices: field('sortedIndices'),
    normalizedCdf: field('normalizedCdf'),
    ys: field('ys'),
    picks: field('picks'),
    uniqueIndices: field('uniqueIndices'),
    keptTokens: field('keptTokens'),
  };
  return atsEvidence(stackImages(significances), sample, sampling);
}

/** The synchronous form, for Node and the conformance runner. */
function reduceAts(input: ReduceInput, params: AtsLayerParams): Reduction {
  const deferred = reduceAtsDeferred(input, params);
  try {
    // The one read-back ATS is allowed: its kept count is data-dependent and sets the output shape.
    return deferred.complete(deferred.read.dataSync() as Int32Array);
  } finally {
    deferred.dispose();
  }
}

/**
 * Method overhead (docs/METHODS.md#ats, "(n_ref − 1)·(N − 1) compares + N·D"): we count exactly that
 * sum, M·(N − 1) |y − cdf| compares plus N·D for the value norms, as one number. None of it is a
 * matmul, so fvcore would count 0; the saving comes from the rows ATS drops.
 */
function atsOverhead(nIn: number, dims: Dims, params: AtsLayerParams): number {
  return atsSampling(nIn, params).samples * (nIn - 1) + nIn * dims.hidden;
}

export const ats: Reducer<AtsLayerParams> = {
  id: 'ats',
  label: 'ATS',
  slot: 'insideAttention',
  kind: 'sample',
  needs: ['clsAttn', 'valueNorms'],
  reduce: reduceAts,
  reduceDeferred: reduceAtsDeferred,
  overheadFlops: atsOverhead,
};
