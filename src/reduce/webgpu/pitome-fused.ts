/**
 * PiToMe on WebGPU in four dispatches (energy and ranking, matching, decision, mean coefficients)
 * instead of the generic path's T×T similarity, ELU, sort, gathers and bipartite bookkeeping; the
 * generic path in pitome.ts stays the reference. The check registered here runs both on the same
 * inputs (tied tokens included), in both layer modes, before the fused path is switched on.
 */
import * as tf from '@tensorflow/tfjs';
import { weightedMeanCoeffs } from '../../tokens/assignment';
import { checkOnDevice, sameValues } from '../../tokens/webgpu/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import type { PitomeIndices, PitomeLayerParams, PitomeMatch, PitomeMatchOptions } from '../pitome';
import { everyOther } from '../../reduce/shared/matching'; // spelled from src/: the repository's own reduce/shared, not a folder beside the clone
import { PITOME_FAMILY, PITOME_MAX_TOKENS, pitomeEnergyRank } from './pitome-energy';
import { pitomeMatchBest } from './pitome-match';
import { pitomeDecide } from './pitome-decide';

/** Whether the fused path can take this many patch tokens (its workgroup memory is fixed). */
export function pitomeFusedFits(t: number): boolean {
  return t <= PITOME_MAX_TOKENS;
}

/** `pitomeMatch` after its early exits (r already clamped, something to decide), by the fused programs. */
export function pitomeMatchFused(metric: tf.Tensor3D, params: PitomeLayerParams, r: number, options: PitomeMatchOptions): PitomeMatch {
  const [batch, n] = metric.shape;
  const off = options.classToken ? 1 : 0;
  const t = n - off;
  const bsm = params.mode === 'bsm';
  const nA = bsm ? Math.ceil(t / 2) : r;
  const nB = bsm ? t - nA : r;
  const withIndices = options.withIndices ?? true;
  return tf.tidy(() => {
    const ranked = pitomeEnergyRank(metric, off, params.margin, params.alpha);
    const best = pitomeMatchBest(metric, ranked, off, nA, nB);
    const decided = pitomeDecide(ranked, best, { n, off, r, bsm, withIndices });
    const target = decided.shape[1] === n ? decided : (tf.slice(decided, [0, 0], [batch, n]) as tf.Tensor2D);
    const weights = options.size ? (tf.reshape(options.size, [batch, n]) as tf.Tensor2D) : (tf.ones([batch, n]) as tf.Tensor2D);
    const coeff = weightedMeanCoeffs(target, weights, n - r, { everyInputKept: true });
    const assignment = { target, coeff, nOut: n - r };
    if (!withIndices) return { r, indices: null, assignment } as unknown as tf.TensorContainer;
    return { r, indices: evidenceIndices(ranked, best, decided, { n, t, r, nA, bsm }), assignment } as unknown as tf.TensorContainer;
  }) as unknown as PitomeMatch;
}

/** The decision's indices in the generic path's form (evidence only: a few generic ops more). */
function evidenceIndices(
  ranked: tf.Tensor2D,
  best: tf.Tensor3D,
  decided: tf.Tensor2D,
  { n, t, r, nA, bsm }: { n: number; t: number; r: number; nA: number; bsm: boolean },
): PitomeIndices {
  const batch = ranked.shape[0];
  const order = tf.cast(tf.slice(ranked, [0, 2 * t], [batch, t]), 'int32') as tf.Tensor2D;
  const mergeSet = bsm ? order : (tf.slice(order, [0, 0], [batch, 2 * r]) as tf.Tensor2D);
  const partner = tf.cast(tf.reshape(tf.slice(best, [0, 0, 1], [batch, nA, 1]), [batch, nA]), 'int32') as tf.Tensor2D;
  const indices: PitomeIndices = {
    energy: tf.slice(ranked, [0, 0], [batch, t]) as tf.Tensor2D,
    order,
    aIdx: everyOther(mergeSet, 0),
    bIdx: everyOther(mergeSet, 1),
    dstIdx: partner,
  };
  if (!bsm) return { ...indices, protectedIdx: tf.slice(order, [0, 2 * r], [batch, t - 2 * r]) as tf.Tensor2D };
  const field = (from: number, width: number) => tf.slice(decided, [0, from], [batch, width]) as tf.Tensor2D;
  return {
    ...indices,
    edgeOrder: field(n, nA),
    unmIdx: field(n + nA, nA - r),
    srcIdx: field(n + 2 * nA - r, r),
    dstIdx: field(n + 2 * nA, r),
    bestScore: tf.reshape(tf.slice(best, [0, 0, 0], [batch, nA, 1]), [batch, nA]) as tf.Tensor2D,
    bestPartner: partner,
  };
}

/**
 * The device check: fused against generic on keys with two duplicated tokens (equal energies, tied
 * matches), in 'bsm' and 'protect' mode, with a class token, and without indices as the engine runs.
 */
async function checkPitome(): Promise<string | null> {
  const { pitomeMatch, pitomeR, disposePitomeMatch } = await import('../pitome');
  const n = 21;
  const values = Float32Array.from({ length: n * 6 }, (_, i) => Math.cos(i * 1.7) + Math.sin(i * i * 0.37));
  values.copyWithin(7 * 6, 4 * 6, 5 * 6); // token 7 = token 4
  values.copyWithin(12 * 6, 9 * 6, 10 * 6); // token 12 = token 9
  const metric = tf.tensor3d(values, [1, n, 6]);
  const size = tf.tensor3d(
    Float32Array.from({ length: n }, (_, i) => 1 + (i % 4)),
    [1, n, 1],
  );
  try {
    for (const [mode, ratio, withIndices] of [
      ['bsm', 0.7, false],
      ['bsm', 0.7, true],
      ['protect', 0.75, true],
      ['protect', 0.75, false],
    ] as const) {
      const params: PitomeLayerParams = { ratio, margin: 0.5, alpha: 1, mode };
      const options = { classToken: true, size, withIndices };
      const r = Math.min(pitomeR(n - 1, ratio), Math.floor((n - 1) / 2)); // as pitomeMatch clamps it
      const problem = await checkOnDevice(
        () => pitomeMatchFused(metric, params, r, options),
        () => pitomeMatch(metric, params, options),
        async (fused, generic) => {
          const same = (name: keyof PitomeIndices, tolerance = 0) => sameValues(fused.indices![name]!, generic.indices![name]!, tolerance);
          return (
            (await sameValues(fused.assignment.target, generic.assignment.target, 0)) ??
            (await sameValues(fused.assignment.coeff, generic.assignment.coeff, 1e-6)) ??
            (withIndices ? ((await same('energy', 1e-5)) ?? (await same('order')) ?? (await same('dstIdx'))) : null)
          );
        },
        disposePitomeMatch,
      );
      if (problem) return `${mode}: ${problem}`;
    }
    return null;
  } finally {
    tf.dispose([metric, size]);
  }
}

registerFusedFamily(PITOME_FAMILY, 'PiToMe', checkPitome);
