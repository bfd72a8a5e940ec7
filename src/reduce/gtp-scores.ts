/** GTP's token scores, MixedAttnMax (docs/METHODS.md#gtp), on the generic ops: the reference path, and what ./webgl/gtp-scores.ts is checked against. */
import * as tf from '@tensorflow/tfjs';

/** MixedAttnMax [B, T]: max over heads of A[j, j] times max over heads of Σ_i A[i, j], for the patch columns. */
export function mixedAttnMax(probs: tf.Tensor4D, classToken = true): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, heads, n] = probs.shape;
    const off = classToken ? 1 : 0;
    const onDiagonal = tf.tensor1d(
      Int32Array.from({ length: n }, (_, i) => i * (n + 1)),
      'int32',
    );
    const diagonal = tf.reshape(tf.gather(tf.reshape(probs, [batch * heads, n * n]), onDiagonal, 1), [batch, heads, n]); // A[h, j, j]
    const columns = tf.sum(probs, 2); // [B, H, N]: over every query row, the class token's included
    const rank = tf.mul(tf.max(diagonal, 1), tf.max(columns, 1)) as tf.Tensor2D;
    return off ? (tf.slice(rank, [0, off], [batch, n - off]) as tf.Tensor2D) : rank;
  });
}
