/**
 * Evaluates several plans against the unreduced model in one pass over a labelled set: top-1
 * accuracy, top-1 agreement and mean KL divergence to the unreduced model (fidelity that needs no
 * labels), and GFLOPs averaged over the images from the token counts each forward produced (so
 * ATS's per-image counts are measured, not assumed). Pure over a model and a batch iterator: the
 * CLI (eval, sweep) and the browser worker run this same loop.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import type { LabelledBatch } from '../io/grey-images';
import { type Model, runForward } from '../model/run';
import { type Compiled, compilePlan } from '../reduce/compile';
import { formatPlan, planFromText } from '../reduce/plan';
import { planFlops, traceCounts } from './plan-flops';

export interface PlanScore {
  /** Canonical plan text. */
  plan: string;
  n: number;
  /** Top-1 accuracy against the labels (NaN without labels). */
  accuracy: number;
  /** Share of images whose top-1 class equals the unreduced model's. */
  agreement: number;
  /** Mean KL(unreduced ‖ plan) of the softmax outputs, in nats. */
  kl: number;
  /** Model GFLOPs per image (fvcore convention), averaged over the images. */
  gflops: number;
  /** The methods' own GFLOPs per image, averaged. */
  overheadGflops: number;
  /** Mean tokens entering each block, then leaving the last. */
  meanTokens: number[];
}

export interface EvaluationProgress {
  done: number;
  total: number;
}

export interface EvaluateOptions {
  /** Images in the set (for progress). */
  total: number;
  onProgress?: (p: EvaluationProgress) => void;
  signal?: AbortSignal;
}

interface Accumulator {
  compiled: Compiled;
  plan: string;
  correct: number;
  agree: number;
  kl: number;
  gflops: number;
  overhead: number;
  tokens: number[];
  n: number;
  labelled: number;
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TokenScopeError('internal', 'evaluation cancelled', { cancelled: true });
}

/** Evaluates `plans` (texts) and always the unreduced model as the first score. */
export async function evaluatePlans(
  model: Model,
  plans: string[],
  batches: Iterable<LabelledBatch> | AsyncIterable<LabelledBatch>,
  { total, onProgress, signal }: EvaluateOptions,
): Promise<PlanScore[]> {
  const { config } = model;
  const depth = config.num_hidden_layers;
  const texts = ['none', ...plans.map((p) => formatPlan(planFromText(p, depth))).filter((p) => p !== 'none')];
  const accs: Accumulator[] = texts.map((plan) => ({
    compiled: compilePlan(planFromText(plan, depth), config),
    plan,
    correct: 0,
    agree: 0,
    kl: 0,
    gflops: 0,
    overhead: 0,
    tokens: Array(depth + 1).fill(0),
    n: 0,
    labelled: 0,
  }));
  const size = config.image_size;
  const channels = config.num_channels;
  let done = 0;
  for await (const batch of batches) {
    checkAborted(signal);
    const pixels = tf.tensor4d(batch.pixels, [batch.count, size, size, channels]);
    let baseLogProbs: tf.Tensor2D | undefined;
    let baseTop: Int32Array | undefined;
    try {
      for (const acc of accs) {
        checkAborted(signal);
        const { logits, traces } = await runForward(model, pixels, acc.compiled);
        const [top, kl] = tf.tidy(() => {
          const logProbs = tf.logSoftmax(logits);
          // KL ≥ 0; float32 rounding can give -1e-8 for near-identical outputs, clamped to 0.
          const klPerImage = baseLogProbs ? tf.maximum(tf.sum(tf.mul(tf.exp(baseLogProbs), tf.sub(baseLogProbs, logProbs)), 1), 0) : tf.zeros([batch.count]);
          if (!baseLogProbs) baseLogProbs = tf.keep(logProbs as tf.Tensor2D);
          return [tf.argMax(logits, 1), tf.sum(klPerImage)];
        });
        logits.dispose();
        const [classes, klSum] = await Promise.all([top.data() as Promise<Int32Array>, kl.data()]);
        tf.dispose([top, kl]);
        if (!baseTop) baseTop = classes;
        for (let i = 0; i < batch.count; i++) {
          if (classes[i] === batch.labels[i]) acc.correct++;
          if (classes[i] === baseTop[i]) acc.agree++;
        }
        acc.kl += klSum[0];
        for (const trace of traces) {
          const counts = traceCounts(trace);
          const report = planFlops(config, acc.compiled, counts);
          acc.gflops += report.model / 1e9;
          acc.overhead += report.overhead / 1e9;
          counts.forEach((c, l) => (acc.tokens[l] += c));
        }
        acc.n += batch.count;
        acc.labelled += batch.labels.length;
      }
    } finally {
      tf.dispose([pixels, ...(baseLogProbs ? [baseLogProbs] : [])]);
    }
    done += batch.count;
    onProgress?.({ done, total });
  }
  return accs.map((a) => ({
    plan: a.plan,
    n: a.n,
    accuracy: a.labelled ? a.correct / a.n : NaN,
    agreement: a.agree / a.n,
    kl: a.kl / a.n,
    gflops: a.gflops / a.n,
    overheadGflops: a.overhead / a.n,
    meanTokens: a.tokens.map((t) => t / a.n),
  }));
}
