/**
 * Per-image results: for one batch of preprocessed images, each plan's top-5 classes and
 * probabilities, tokens per block, GFLOPs and KL divergence to the unreduced model. These records
 * are what `--out FILE.jsonl` holds, one per line; every summary (eval, sweep, merge) is computed
 * from them (summary.ts), so a sharded run and a single run give the same numbers.
 *
 * Softmax, top-5 and KL are computed in float64 from the float32 logits, so a record does not
 * depend on how a backend rounds them. Ties in the top-5 go to the lower class index.
 */
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/run';
import { runForward } from '../model/run';
import type { Compiled } from '../reduce/compile';
import { planFlops, traceCounts } from './plan-flops';

export interface PlanResult {
  top5: number[];
  prob5: number[];
  /** Tokens entering each block, then leaving the last. */
  tokens: number[];
  gflops: number;
  /** KL(unreduced ‖ plan) of the softmax outputs, in nats (0 for the unreduced model itself). */
  kl: number;
}

export interface ImageRecord {
  /** Path relative to the data folder. */
  file: string;
  label: number | null;
  /** Plan text → result; absent when the image could not be read. */
  plans?: Record<string, PlanResult>;
  /** Why the image was not evaluated (unreadable, truncated, empty, too large). */
  error?: string;
}

export interface CompiledEntry {
  /** Canonical plan text; the first entry is the unreduced model, 'none'. */
  plan: string;
  compiled: Compiled;
}

function logSoftmax(logits: Float32Array, from: number, n: number): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, logits[from + j]);
  let z = 0;
  for (let j = 0; j < n; j++) z += Math.exp(logits[from + j] - max);
  const lz = Math.log(z) + max;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = logits[from + j] - lz;
  return out;
}

/** Indices of the k largest values, larger first, ties to the lower index. */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  for (let j = 0; j < values.length; j++) {
    let at = best.length;
    while (at > 0 && values[best[at - 1]] < values[j]) at--;
    if (at < k) {
      best.splice(at, 0, j);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

/**
 * Runs every plan on `pixels` ([count, S, S, C] normalised, row-major) and returns one result map
 * per image. `entries[0]` must be the unreduced model. Leaves no tensors behind.
 */
export async function scoreBatch(model: Model, entries: CompiledEntry[], pixels: Float32Array, count: number): Promise<Record<string, PlanResult>[]> {
  const { config } = model;
  const S = config.image_size;
  const x = tf.tensor4d(pixels, [count, S, S, config.num_channels]);
  const results: Record<string, PlanResult>[] = Array.from({ length: count }, () => ({}));
  let base: Float64Array[] = [];
  try {
    for (const { plan, compiled } of entries) {
      const { logits, traces } = await runForward(model, x, compiled);
      let values: Float32Array;
      try {
        values = (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
      const labels = logits.shape[1];
      const logProbs = Array.from({ length: count }, (_, i) => logSoftmax(values, i * labels, labels));
      if (plan === 'none') base = logProbs;
      for (let i = 0; i < count; i++) {
        const lp = logProbs[i];
        const top5 = topIndices(lp, Math.min(5, labels));
        let kl = 0;
        if (plan !== 'none') {
          const b = base[i];
          for (let j = 0; j < labels; j++) kl += Math.exp(b[j]) * (b[j] - lp[j]);
          kl = Math.max(kl, 0); // rounding can give −1e-17 for near-identical outputs
        }
        const tokens = traceCounts(traces[i]);
        results[i][plan] = {
          top5,
          prob5: top5.map((j) => Math.exp(lp[j])),
          tokens,
          gflops: planFlops(config, compiled, tokens).model / 1e9,
          kl,
        };
      }
    }
  } finally {
    x.dispose();
  }
  return results;
}
