/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, written out as PyTorch's
 * torch.optim.AdamW does it, so the state (m, v, step) can be saved and restored exactly:
 *
 *   p ← p · (1 − lr·wd)                       (decay, only for parameters with `decay[i]`)
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *   p ← p − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
 *
 * Gradients are first clipped to a global L2 norm of `clipNorm` (when > 0).
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, clipNorm: 1 };

export class AdamW {
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  /** Updates applied so far (t in the bias corrections is step + 1 for the next update). */
  step = 0;

  constructor(
    readonly params: tf.Variable[],
    readonly decay: boolean[],
    readonly options: AdamWOptions = ADAMW_DEFAULTS,
  ) {
    const zeros = () => params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.m = zeros();
    this.v = zeros();
  }

  /** One update with `grads` (same order as params; not disposed here). Returns the pre-clip gradient norm as a tensor the caller disposes. */
  update(grads: tf.Tensor[], lr: number): tf.Scalar {
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.options;
    const t = this.step + 1;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    const norm = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
    tf.tidy(() => {
      const scale = clipNorm > 0 ? tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-6))) : tf.scalar(1);
      this.params.forEach((p, i) => {
        const g = tf.mul(grads[i], scale);
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const base = this.decay[i] && weightDecay > 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
        const stepSize = lr / c1;
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(c2)), eps);
        p.assign(tf.sub(base, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
    this.step = t;
    return norm;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
