/** One optimisation step of the ViT on a batch: forward, cross-entropy (with label smoothing), AdamW update. */
import * as tf from '@tensorflow/tfjs';
import type { VitConfig } from '../model/config';
import { forwardTensors } from '../model/vit';
import type { AdamW } from './adamw';
import type { TrainableParams } from './params';

export interface StepResult {
  loss: number;
  /** Correct top-1 predictions in the batch (on the augmented images, before the update). */
  correct: number;
  gradNorm: number;
}

/**
 * `pixels` [B, S, S, C] normalised, `labels` [B] class indices. Reads back three scalars; leaves
 * no tensors behind.
 */
export function trainStep(
  config: VitConfig,
  params: TrainableParams,
  optimizer: AdamW,
  pixels: Float32Array,
  labels: Int32Array,
  lr: number,
  labelSmoothing: number,
): StepResult {
  const B = labels.length;
  const S = config.image_size;
  const numClasses = Object.keys(config.id2label).length;
  const hooks = Array(config.num_hidden_layers).fill(null);
  const [lossT, correctT, normT] = tf.tidy(() => {
    const x = tf.tensor4d(pixels, [B, S, S, config.num_channels]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
    let correct: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const { logits } = forwardTensors(config, params.weights, x, { hooks, propAttn: false, keepAssignments: false });
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'int32')));
      return tf.losses.softmaxCrossEntropy(y, logits, undefined, labelSmoothing) as tf.Scalar;
    }, params.variables);
    const norm = optimizer.update(
      params.variables.map((v) => grads[v.name]),
      lr,
    );
    return [value, correct as tf.Tensor, norm];
  });
  const loss = lossT.dataSync()[0];
  const correct = correctT.dataSync()[0];
  const gradNorm = normT.dataSync()[0];
  tf.dispose([lossT, correctT, normT]);
  return { loss, correct, gradNorm };
}
