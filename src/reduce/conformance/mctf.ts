/**
 * Runs one MCTF conformance case (tests/fixtures/conformance/cases/mctf) through our implementation and
 * returns the fields its `compare` section names, in the official layout:
 * r_effective, n_out, x_merged, size_merged, source_merged, attn_next, and the matching indices
 * unm_idx, src_idx, dst_idx (+ unm_idx2, src_idx2, dst_idx2 when bidirectional).
 *
 * Mirrors the official call `mctf(x, attn, info, 'student_')` with trace_source on:
 * - r = 0: x comes back unchanged and size/source stay what they were (null stays null); attn_next null.
 * - r < 0 (N < 10): the official code raises; we report an error string instead of outputs.
 * - null size → ones (and no size criterion); null source → identity.
 */
import * as tf from '@tensorflow/tfjs';
import { applyAssignment, sumInto } from '../../tokens/assignment';
import { batchedField, readEvidenceSync } from '../../tokens/evidence';
import { applyMatch, disposeMatch, mctfEvidence, mctfLayerR, mctfMatch, type MctfLayerParams, type MctfMatch, type MctfPooling } from '../mctf';
import type { ReduceInput } from '../../tokens/types';
import { floatTensor, readAhead, toNested, type CaseOutputs, type CaseRunner, type ConformanceCase, type Nested } from './case';

function caseParams(c: ConformanceCase): MctfLayerParams {
  const p = c.params;
  return {
    r: Number(p.r),
    tauSim: Number(p.tau_sim),
    tauInfo: Number(p.tau_info),
    tauSize: Number(p.tau_size),
    bidirection: Boolean(p.bidirection),
    oneStepAhead: Boolean(p.one_step_ahead),
    pooling: Number(p.pooling_type) as MctfPooling,
  };
}

function numProtected(c: ConformanceCase): number {
  const n = Number(c.params.num_protected ?? 1);
  if (n > 1) throw new Error(`mctf runner: num_protected ${n} is not supported (class token only)`);
  return n;
}

/** The official code fails here; every `error` field gets the reason. */
function officialFailure(c: ConformanceCase, reason: string): CaseOutputs {
  const out: CaseOutputs = { error: reason };
  for (const [name, spec] of Object.entries(c.compare)) if (spec.mode === 'error') out[name] = reason;
  return out;
}

function optionalTensor(v: Nested | undefined): tf.Tensor | null {
  return v === null || v === undefined ? null : floatTensor(v);
}

/** The matching's indices, read from its evidence (the numbers the why view shows). */
function matchFields(match: MctfMatch): CaseOutputs {
  const evidence = readEvidenceSync(mctfEvidence(match), match.unmIdx.shape[0]);
  const names: [string, string][] = [
    ['unm_idx', 'unmIdx'],
    ['src_idx', 'srcIdx'],
    ['dst_idx', 'dstIdx'],
  ];
  if (match.second) names.push(['unm_idx2', 'unmIdx2'], ['src_idx2', 'srcIdx2'], ['dst_idx2', 'dstIdx2']);
  return Object.fromEntries(names.map(([official, ours]) => [official, batchedField(evidence, ours)]));
}

export const runMctfCase: CaseRunner = async (c) => {
  const params = caseParams(c);
  const x = floatTensor(c.inputs.x) as tf.Tensor3D;
  const [batch, n] = x.shape;
  const r = mctfLayerR(n, params.r, numProtected(c));
  if (r < 0) {
    x.dispose();
    return officialFailure(c, `official mctf fails for N = ${n} < 10 (r = ${r} < 0): AttributeError`);
  }
  const out: CaseOutputs = { r_effective: r, n_out: n - r };
  const probs = floatTensor(c.inputs.attn) as tf.Tensor4D;
  const size = optionalTensor(c.inputs.size) as tf.Tensor3D | null;
  const source = optionalTensor(c.inputs.source) as tf.Tensor3D | null;
  const ones = tf.ones([batch, n, 1]) as tf.Tensor3D;
  const input: ReduceInput = {
    x,
    size: size ?? ones,
    sizeIsTracked: size !== null,
    attention: { probs },
    layer: 0,
    depth: 12,
    classToken: numProtected(c) > 0,
    distillToken: false,
  };
  const match = mctfMatch(input, params);
  try {
    if (!match) {
      Object.assign(out, {
        x_merged: toNested(x),
        size_merged: size ? toNested(size) : null,
        source_merged: source ? toNested(source) : null,
        attn_next: null,
      });
      return out;
    }
    const merged = tf.tidy(() => {
      const { assignment, features, attnNext } = applyMatch(input, params, match);
      const lineage = source ?? (tf.tile(tf.expandDims(tf.eye(n), 0), [batch, 1, 1]) as tf.Tensor3D);
      return {
        x_merged: features ?? applyAssignment(assignment, x),
        size_merged: sumInto(assignment, input.size),
        source_merged: sumInto(assignment, lineage),
        attn_next: attnNext,
      };
    });
    const indices = [match.unmIdx, match.srcIdx, match.dstIdx, match.second?.unmIdx, match.second?.srcIdx, match.second?.dstIdx];
    // WebGPU: read asynchronously first (the software adapter's synchronous read returns zeros)
    await readAhead([...Object.values(merged), ...indices]);
    Object.assign(out, {
      x_merged: toNested(merged.x_merged),
      size_merged: toNested(merged.size_merged),
      source_merged: toNested(merged.source_merged),
      attn_next: merged.attn_next ? toNested(merged.attn_next) : null,
      ...matchFields(match),
    });
    tf.dispose(Object.values(merged).filter((t) => t !== undefined) as tf.Tensor[]);
    return out;
  } finally {
    if (match) disposeMatch(match);
    tf.dispose([x, probs, size, source, ones].filter((t) => t !== null) as tf.Tensor[]);
  }
};
