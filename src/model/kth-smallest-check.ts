/**
 * The device check of both GPU sparsity thresholds (webgpu/ and webgl/attention-sparsity.ts): the
 * program against top-k (ops.ts `kthSmallestByTopk`), exactly, on rows with ties, zeros,
 * probabilities, both signs and -0, at the extreme ranks and between.
 */
import * as tf from '@tensorflow/tfjs';
import { sameValues } from '../tokens/webgpu/check';
import { kthSmallestByTopk, type KthSmallest } from './ops';

/** A backend's device check (src/tokens/webgpu/check.ts `checkOnDevice`, src/tokens/webgl/check.ts `checkOnWebGL`). */
type OnDevice = (
  fused: () => tf.Tensor,
  generic: () => tf.Tensor,
  compare: (fused: tf.Tensor, generic: tf.Tensor) => Promise<string | null>,
  dispose: (result: tf.Tensor) => void,
) => Promise<string | null>;

export async function checkKthSmallest(program: KthSmallest, onDevice: OnDevice): Promise<string | null> {
  const length = 300;
  const values = Float32Array.from({ length: 3 * length }, (_, i) => {
    if (i < length) return Math.round(Math.sin(i * 1.3) * 4) / 8; // row 0: many ties
    if (i < 2 * length) return i % 7 === 0 ? 0 : Math.abs(Math.sin(i)) * 1e-3; // row 1: probabilities, zeros
    return ((i % 2 ? -1 : 1) * Math.round(Math.cos(i * 0.7) * 30)) / 10; // row 2: both signs, ties, ±0
  });
  values[2 * length + 5] = -0;
  const rows = tf.tensor2d(values, [3, length]);
  try {
    for (const k of [1, 2, 37, 150, length - 1, length]) {
      const problem = await onDevice(
        () => program(rows, k),
        () => kthSmallestByTopk(rows, k),
        (fused, generic) => sameValues(fused, generic, 0),
        (t) => t.dispose(),
      );
      if (problem !== null) return `k = ${k}: ${problem}`;
    }
    return null;
  } finally {
    rows.dispose();
  }
}
