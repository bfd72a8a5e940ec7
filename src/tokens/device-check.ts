/**
 * What the code shared by the WebGPU and WebGL programs sees of a backend's device check
 * (webgpu/check.ts, webgl/check.ts): the same two signatures on both backends, passed in, so a
 * shared check never imports a backend.
 */
import * as tf from '@tensorflow/tfjs';

/** Runs a backend's programs and the generic path; a problem as a sentence, agreement as null. */
export type CheckOn = <T>(
  fused: () => T,
  generic: () => T,
  compare: (fused: T, generic: T) => Promise<string | null>,
  dispose: (result: T) => void,
) => Promise<string | null>;

export type SameValues = (a: tf.Tensor, b: tf.Tensor, tolerance: number) => Promise<string | null>;

/**
 * The check of a backend's selection programs: two images' selections (with dropped inputs)
 * applied by `select` and by the generic gather path must agree exactly.
 */
export async function checkSelection(
  checkOn: CheckOn,
  sameValues: SameValues,
  select: (values: tf.Tensor3D, target: tf.Tensor2D, nOut: number) => tf.Tensor3D,
): Promise<string | null> {
  const { applySelection } = await import('./assignment'); // assignment.ts imports the programs
  const n = 7;
  const nOut = 4;
  const target = tf.tensor2d([2, -1, 0, 3, -1, 1, -1, -1, 3, 1, -1, 0, 2, -1], [2, n], 'int32');
  const coeff = tf.tidy(() => tf.cast(tf.greaterEqual(target, 0), 'float32') as tf.Tensor2D);
  const values = tf.tensor3d(
    Float32Array.from({ length: 2 * n * 5 }, (_, i) => Math.sin(i * 1.3) * 7),
    [2, n, 5],
  );
  try {
    return await checkOn(
      () => select(values, target, nOut),
      () => applySelection({ target, coeff, nOut }, [values], []).applied[0],
      (fused, generic) => sameValues(fused, generic, 0),
      (t) => t.dispose(),
    );
  } finally {
    tf.dispose([target, coeff, values]);
  }
}
