/**
 * ATS on WebGPU in four dispatches (the decision, the kept count, the selection's targets and
 * coefficients) instead of most of the generic path's 245 per reducing block (docs/PERFORMANCE.md,
 * "ATS on WebGPU"); the generic path in ats.ts stays the reference
 * and the path of every other backend. The kept count is still the one number read back, once per
 * reducing block, asynchronously (DeferredReduction). The check registered here runs both paths on
 * the same inputs (tied scores, padded, cropped and whole CDFs, with and without the eps terms)
 * before the fused path is switched on for a device.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnDevice, sameValues } from '../../tokens/webgpu/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import type { AtsSample, AtsSampling } from '../ats';
import { ATS_FAMILY, ATS_MAX_HEADS, atsPackedLayout, atsSamplePacked, type AtsPackedLayout } from './ats-sample';
import { atsKeptCount, atsSelectionCoeff, atsSelectionTarget } from './ats-select';

export { ATS_FAMILY };

/** Whether the fused path can take this many heads (their eps terms sit in workgroup memory). */
export function atsFusedFits(heads: number): boolean {
  return heads <= ATS_MAX_HEADS;
}

/** The packed decision of a block and where its fields are. */
export interface AtsFusedDecision {
  packed: tf.Tensor2D;
  layout: AtsPackedLayout;
}

/** clsRows [B, H, N], norms [B, N] -> the packed decision (ats-sample.ts). Caller disposes. */
export function atsDecideFused(clsRows: tf.Tensor3D, norms: tf.Tensor2D, sampling: AtsSampling, epsTerms: boolean, eps: number): AtsFusedDecision {
  const t = clsRows.shape[2] - 1;
  return { packed: atsSamplePacked(clsRows, norms, sampling, epsTerms, eps), layout: atsPackedLayout(t, sampling.samples) };
}

/** The largest kept count as an int32 scalar: the tensor the engine reads back. Caller disposes. */
export function atsFusedCount({ packed, layout }: AtsFusedDecision): tf.Scalar {
  return tf.tidy(() => tf.reshape(atsKeptCount(packed, layout), []) as tf.Scalar);
}

/** The selection of the kept tokens for N input tokens and `nOut` output rows. Caller disposes. */
export function atsFusedAssignment({ packed, layout }: AtsFusedDecision, n: number, nOut: number): { target: tf.Tensor2D; coeff: tf.Tensor2D; nOut: number } {
  const target = atsSelectionTarget(packed, layout, n);
  return { target, coeff: atsSelectionCoeff(target), nOut };
}

/** The significance and every step of the sampling, as the generic path returns them (evidence, conformance). Caller disposes. */
export function atsFusedFields({ packed, layout }: AtsFusedDecision): { significance: tf.Tensor2D; sample: AtsSample } {
  return tf.tidy(() => {
    const batch = packed.shape[0];
    const { t, m } = layout;
    const floats = (from: number, width: number) => tf.slice(packed, [0, from], [batch, width]) as tf.Tensor2D;
    const ints = (from: number, width: number) => tf.cast(floats(from, width), 'int32') as tf.Tensor2D;
    const sample: AtsSample = {
      sortedScores: floats(layout.sortedScores, t),
      sortedIndices: ints(layout.sortedIndices, t),
      normalizedCdf: floats(layout.normalizedCdf, t),
      ys: floats(layout.ys, m),
      picks: ints(layout.picks, m),
      uniqueIndices: ints(layout.uniqueIndices, m),
      keptTokens: ints(layout.keptTokens, 1 + layout.slots),
    };
    return { significance: floats(layout.significance, t), sample } as unknown as tf.TensorContainer;
  }) as unknown as { significance: tf.Tensor2D; sample: AtsSample };
}

/** CLS rows [2, H = 2, N = 12] (softmax rows) and norms [2, 12] with tokens 3 = 7 and 5 = 9 in image 0: tied scores. */
function checkInputs(): { clsRows: tf.Tensor3D; norms: tf.Tensor2D } {
  const [batch, heads, n] = [2, 2, 12];
  const noise = (i: number) => {
    const v = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
    return v - Math.floor(v);
  };
  const logits = Float32Array.from({ length: batch * heads * n }, (_, i) => 3 * noise(i));
  const norms = Float32Array.from({ length: batch * n }, (_, i) => 0.5 + 2 * noise(1000 + i));
  for (const [from, to] of [
    [3, 7],
    [5, 9],
  ]) {
    for (let h = 0; h < heads; h++) logits[h * n + to] = logits[h * n + from];
    norms[to] = norms[from];
  }
  const rows = new Float32Array(logits.length);
  for (let r = 0; r < batch * heads; r++) {
    const at = r * n;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(logits[at + j]);
    for (let j = 0; j < n; j++) rows[at + j] = Math.exp(logits[at + j]) / sum;
  }
  return { clsRows: tf.tensor3d(rows, [batch, heads, n]), norms: tf.tensor2d(norms, [batch, n]) };
}

const FIELDS = ['sortedScores', 'sortedIndices', 'normalizedCdf', 'ys', 'picks', 'uniqueIndices', 'keptTokens'] as const;

/**
 * The device check: fused against generic on the tied input above, for a CDF padded to more draws
 * than tokens, cropped to fewer, sampled whole (the paper's cap) and matched one to one, with and
 * without the eps terms. Floats within 1e-6, every index, the count and the selection exact.
 */
async function checkAts(): Promise<string | null> {
  const { atsEpsTerms, atsInverseTransformSample, atsSignificanceOfNorms, ATS_SOFTMAX_EPS } = await import('../ats');
  const { clsRows, norms } = checkInputs();
  const [batch, , n] = clsRows.shape;
  try {
    for (const [samples, crop, epsTerms] of [
      [11, true, true],
      [15, true, false],
      [6, true, true],
      [6, false, false],
    ] as const) {
      const sampling: AtsSampling = { nTokens: n, samples, crop };
      const problem = await checkOnDevice(
        () =>
          tf.tidy(() => {
            const decision = atsDecideFused(clsRows, norms, sampling, epsTerms, ATS_SOFTMAX_EPS);
            const { significance, sample } = atsFusedFields(decision);
            const assignment = atsFusedAssignment(decision, n, 1 + decision.layout.slots);
            return [significance, ...FIELDS.map((f) => sample[f]), atsFusedCount(decision), assignment.target, assignment.coeff];
          }),
        () =>
          tf.tidy(() => {
            const significance = atsSignificanceOfNorms(epsTerms ? atsEpsTerms(clsRows) : clsRows, norms);
            const sample = atsInverseTransformSample(significance, sampling);
            return [significance, ...FIELDS.map((f) => sample[f])];
          }),
        async (fused, generic) => {
          for (const [i, what] of ['significance', ...FIELDS].entries()) {
            const problem = await sameValues(fused[i], generic[i], i === 0 || what === 'sortedScores' || what === 'normalizedCdf' || what === 'ys' ? 1e-6 : 0);
            if (problem) return `${what}: ${problem}`;
          }
          // the count and the selection, from the generic path's kept tokens
          const kept = await generic[FIELDS.length].data();
          const width = kept.length / batch;
          const target = new Int32Array(batch * n).fill(-1);
          let count = 0;
          for (let b = 0; b < batch; b++) {
            let live = 0;
            for (let s = 0; s < width; s++) {
              const token = kept[b * width + s];
              if (token >= 0) {
                target[b * n + token] = s;
                live++;
              }
            }
            count = Math.max(count, live);
          }
          const [fusedCount, fusedTarget, fusedCoeff] = await Promise.all(fused.slice(FIELDS.length + 1).map((t) => t.data()));
          if (fusedCount[0] !== count) return `kept count ${fusedCount[0]} instead of ${count}`;
          for (let i = 0; i < target.length; i++) {
            if (fusedTarget[i] !== target[i]) return `target ${i} is ${fusedTarget[i]} instead of ${target[i]}`;
            if (fusedCoeff[i] !== (target[i] >= 0 ? 1 : 0)) return `coefficient ${i} is ${fusedCoeff[i]}`;
          }
          return null;
        },
        (tensors) => tf.dispose(tensors),
      );
      if (problem) return `${samples} draws${crop ? '' : ', whole CDF'}: ${problem}`;
    }
    return null;
  } finally {
    tf.dispose([clsRows, norms]);
  }
}

registerFusedFamily(ATS_FAMILY, 'ATS', checkAts);
