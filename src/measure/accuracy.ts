/**
 * Top-1 accuracy of a classifier over a labelled set, and top-1 agreement between two runs.
 * Pure over a predict function and a batch iterator (no Node, no DOM): the CLI, the tests and the
 * browser all run this loop.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import type { LabelledBatch } from '../io/grey-images';

/** Logits [B, labels] for normalised pixels [B, S, S, C]; the accuracy loop disposes the result. */
export type Predict = (pixels: tf.Tensor4D) => tf.Tensor2D | Promise<tf.Tensor2D>;

export interface AccuracyOptions {
  imageSize: number;
  channels: number;
  /** Called after each batch with images done so far. */
  onProgress?: (done: number, correct: number) => void;
}

export interface AccuracyResult {
  n: number;
  correct: number;
  /** correct / n (NaN for an empty set). */
  accuracy: number;
  /** Top-1 class per image, in set order (for agreement with another run). */
  predictions: Int32Array;
}

/** Runs `predict` over every batch and counts top-1 hits. Leaves no tensors behind. */
export async function evaluateAccuracy(
  predict: Predict,
  batches: Iterable<LabelledBatch> | AsyncIterable<LabelledBatch>,
  { imageSize, channels, onProgress }: AccuracyOptions,
): Promise<AccuracyResult> {
  const predictions: number[] = [];
  let correct = 0;
  for await (const batch of batches) {
    const pixels = tf.tensor4d(batch.pixels, [batch.count, imageSize, imageSize, channels]);
    let classes: Int32Array;
    try {
      const logits = await predict(pixels);
      try {
        if (logits.shape[0] !== batch.count) {
          throw new TokenScopeError('internal', `predict returned ${logits.shape[0]} rows for a batch of ${batch.count}`);
        }
        const top = tf.argMax(logits, 1);
        try {
          classes = (await top.data()) as Int32Array;
        } finally {
          top.dispose();
        }
      } finally {
        logits.dispose();
      }
    } finally {
      pixels.dispose();
    }
    for (let i = 0; i < batch.count; i++) {
      predictions.push(classes[i]);
      if (classes[i] === batch.labels[i]) correct++;
    }
    onProgress?.(predictions.length, correct);
  }
  const n = predictions.length;
  return { n, correct, accuracy: correct / n, predictions: Int32Array.from(predictions) };
}

/** Share of images where two runs predict the same class (top-1 agreement). */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new TokenScopeError('internal', `agreement over ${a.length} and ${b.length} predictions`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}
