/**
 * What ATS's own GPU programs share across backends (../webgpu/ats-fused.ts in WGSL,
 * ../webgl/ats-fused.ts in GLSL): each backend turns the CLS rows and value norms into a decision
 * of its own shape, and from it the kept count the engine reads back, the selection, and (for the
 * evidence and the conformance cases) every step of the sampling as the generic path returns it.
 * The device check here runs a backend's programs and the generic path on the same inputs (tied
 * scores, padded, cropped and whole CDFs, with and without the eps terms).
 */
import * as tf from '@tensorflow/tfjs';
import type { AtsSample, AtsSampling } from '../ats';
import type { CheckOn, SameValues } from '../../tokens/device-check';

/** One backend's programs; `D` is its decision (tensors the caller frees through `tensors`). */
export interface AtsPrograms<D> {
  /** clsRows [B, H, N], norms [B, N] -> the decision; `epsTerms` applies the ATS softmax's eps terms to the rows first. */
  decide(clsRows: tf.Tensor3D, norms: tf.Tensor2D, sampling: AtsSampling, epsTerms: boolean, eps: number): D;
  tensors(decision: D): tf.Tensor[];
  /** The largest kept count as an int32 scalar: the tensor the engine reads back. */
  count(decision: D): tf.Scalar;
  /** The selection of the kept tokens for N input tokens and `nOut` output rows. */
  assignment(decision: D, n: number, nOut: number): { target: tf.Tensor2D; coeff: tf.Tensor2D; nOut: number };
  /** The significance and every step of the sampling, as the generic path returns them. */
  fields(decision: D): { significance: tf.Tensor2D; sample: AtsSample };
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
const FLOAT_FIELDS = new Set(['significance', 'sortedScores', 'normalizedCdf', 'ys']);

/**
 * The device check: programs against generic on the tied input above, for a CDF padded to more
 * draws than tokens, cropped to fewer, sampled whole (the paper's cap) and matched one to one,
 * with and without the eps terms. Floats within 1e-6, every index, the count and the selection exact.
 */
export async function checkAtsPrograms<D>(programs: AtsPrograms<D>, checkOn: CheckOn, sameValues: SameValues): Promise<string | null> {
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
      const problem = await checkOn(
        () =>
          tf.tidy(() => {
            const decision = programs.decide(clsRows, norms, sampling, epsTerms, ATS_SOFTMAX_EPS);
            const { significance, sample } = programs.fields(decision);
            const slots = sample.keptTokens.shape[1];
            const assignment = programs.assignment(decision, n, slots);
            return [significance, ...FIELDS.map((f) => sample[f]), programs.count(decision), assignment.target, assignment.coeff];
          }),
        () =>
          tf.tidy(() => {
            const significance = atsSignificanceOfNorms(epsTerms ? atsEpsTerms(clsRows) : clsRows, norms);
            const sample = atsInverseTransformSample(significance, sampling);
            return [significance, ...FIELDS.map((f) => sample[f])];
          }),
        async (fused, generic) => {
          for (const [i, what] of ['significance', ...FIELDS].entries()) {
            const problem = await sameValues(fused[i], generic[i], FLOAT_FIELDS.has(what) ? 1e-6 : 0);
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
