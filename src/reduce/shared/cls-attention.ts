/** What the CLS-scored methods (EViT, top-k, ATS) read of a block's attention. */
import * as tf from '@tensorflow/tfjs';
import { invariant } from '../../errors';
import type { ReduceInput } from '../../tokens/types';

/** [B, H, N] the CLS query row of the attention: `attention.clsAttn`, else sliced from `probs` (caller disposes a slice). */
export function clsAttentionRow(input: ReduceInput): tf.Tensor3D {
  const { clsAttn, probs } = input.attention;
  if (clsAttn) return clsAttn;
  invariant(probs, 'the method needs the CLS attention row (needs: clsAttn) or the attention probabilities');
  const [batch, heads, , n] = probs.shape;
  return tf.tidy(() => tf.reshape(tf.slice(probs, [0, 0, 0, 0], [batch, heads, 1, n]), [batch, heads, n]) as tf.Tensor3D);
}
