/**
 * The few numeric building blocks of the ViT, shaped for TF.js's fast kernels.
 *
 * Measured here (wasm backend, Node, 2 cores): a plain 2-D matMul without
 * transpose flags is the fast path; batched or transposed matmuls — including those in TF.js's
 * default matMul gradient — run about 15× slower. So linear layers flatten to 2-D, weights are
 * stored [in, out], and the linear gradient uses explicit transposes.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import { kernelsRunOnCpu } from '../tokens/kernel-paths';
import type { HeadLayout } from './weights';

/** y = x·W + b on a 2-D x [rows, in], W [in, out]. Gradient written with plain 2-D matmuls. */
export const linear2d = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  const x2 = x as tf.Tensor2D;
  const w2 = w as tf.Tensor2D;
  save([x2, w2]);
  return {
    value: tf.add(tf.matMul(x2, w2), b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(ws)), tf.matMul(tf.transpose(xs), g), tf.sum(g, 0)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** Linear layer over the last axis of [B, N, in]. */
export function linear(x: tf.Tensor3D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor3D {
  const [B, N, inDim] = x.shape;
  return tf.reshape(linear2d(tf.reshape(x, [B * N, inDim]) as tf.Tensor2D, w, b), [B, N, w.shape[1]]);
}

/** LayerNorm over the last axis (biased variance, eps inside the square root, like PyTorch). */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): T {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axis, true);
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta) as T;
  });
}

/** Exact GELU: x · Φ(x) = x/2 · (1 + erf(x/√2)). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T);
}

/** Splits [B, N, H·dh] into heads [B, H, N, dh]. */
export function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [B, N, width] = x.shape;
  return tf.transpose(tf.reshape(x, [B, N, heads, width / heads]), [0, 2, 1, 3]);
}

/** Merges heads [B, H, N, dh] back into [B, N, H·dh]. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, N, dh] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, N, H * dh]);
}

/** Attention logits q·kᵀ/√dh [B, H, N, N] (+ log size per key when `logSize` [B, N] is given). */
export function attentionLogits(q: tf.Tensor4D, k: tf.Tensor4D, logSize?: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const dh = q.shape[3];
    let logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)) as tf.Tensor4D;
    if (logSize) logits = tf.add(logits, tf.reshape(logSize, [logSize.shape[0], 1, 1, logSize.shape[1]]));
    return logits;
  });
}

/**
 * Whether attention runs head by head with plain 2-D matmuls (`attentionByHead`, image by image)
 * rather than as batched [B, H, N, ·] matmuls. Measured here (DeiT-Tiny block, N = 197, wasm, Node,
 * 2 cores, interleaved medians): batched 4-D q·kᵀ, softmax and P·v 10.6–12.3 ms per block and
 * image; per head with the weights pre-split (`HeadLayout`) 2.2–2.4 ms; slicing q/k/v columns at
 * run time instead 5.0–5.8 ms (the wasm Slice kernel copies its whole input through readSync, and
 * column slices loop row by row in JS). On WebGL/WebGPU one batched dispatch beats 3·H small ones
 * per image, so they keep the batched form.
 */
export function attentionRunsByHead(): boolean {
  return kernelsRunOnCpu();
}

/** k of `sparsifyAttention` for N tokens: ⌊N²·(1 − sparsity)⌋ in double precision, as Python's int() of the same product. */
export function sparsityRank(n: number, sparsity: number): number {
  return Math.trunc(n * n * (1 - sparsity));
}

/**
 * GTP's attention sparsification (docs/METHODS.md#gtp): in every N×N matrix (the last two axes:
 * one image and head), each probability strictly below the k-th smallest of its N² entries,
 * k = `sparsityRank`, becomes 0 — no renormalisation. k < 1 has no k-th value (the official
 * torch.kthvalue raises), so it is refused here too.
 */
export function sparsifyAttention<T extends tf.Tensor>(probs: T, sparsity: number, kthSmallest: KthSmallest = kthSmallestByTopk): T {
  const n = probs.shape[probs.rank - 1];
  const nn = n * n;
  const k = sparsityRank(n, sparsity);
  if (k < 1)
    throw new TokenScopeError(
      'plan-invalid',
      `attention sparsity ${sparsity} with ${n} tokens keeps every probability: ⌊${n}²·(1 − ${sparsity})⌋ = ${k} has no k-th smallest value; lower the sparsity or use 1 (off)`,
    );
  return tf.tidy(() => {
    const flat = tf.reshape(probs, [-1, nn]) as tf.Tensor2D;
    const threshold = kthSmallest(flat, k);
    return tf.reshape(tf.where(tf.less(flat, threshold), tf.zerosLike(flat), flat), probs.shape) as T;
  });
}

/** rows [R, M], 1 ≤ k ≤ M -> [R, 1]: each row's k-th smallest value. */
export type KthSmallest = (rows: tf.Tensor2D, k: number) => tf.Tensor2D;

/** `KthSmallest` by TF.js's top-k: the k-th smallest is the (M − k + 1)-th largest, so take the shorter of the two (a selection, so the value is exact). */
export function kthSmallestByTopk(rows: tf.Tensor2D, k: number): tf.Tensor2D {
  const m = rows.shape[1];
  return tf.tidy(() =>
    k <= m - k + 1 ? tf.neg(tf.slice(tf.topk(tf.neg(rows), k).values, [0, k - 1], [-1, 1])) : tf.slice(tf.topk(rows, m - k + 1).values, [0, m - k], [-1, 1]),
  ) as tf.Tensor2D;
}

/** [B, N] ‖v_j‖₂ of values [B, N, D] (the heads side by side). */
export function valueNorms(values: tf.Tensor3D): tf.Tensor2D {
  return tf.sqrt(tf.sum(tf.square(values), 2)) as tf.Tensor2D;
}

/** What `attentionByHead` computed for one image, head by head. */
export interface HeadAttention {
  /** P_h·v_h with the heads side by side: [N, D], the input of the output projection. */
  out: tf.Tensor2D;
  /** Per head P_h [N, N] (post-softmax), when asked for. */
  probs?: tf.Tensor2D[];
  /** [H, N] the CLS query row of every head's P, when asked for. */
  clsRows?: tf.Tensor2D;
  /** [1, N] ‖v_j‖₂ over the heads' values side by side (dimension D), when asked for. */
  valueNorms?: tf.Tensor2D;
  /** Per head k_hᵀ [dh, N]. */
  keysT: tf.Tensor2D[];
}

export interface HeadAttentionOptions {
  /** log size per key [1, N] added to the logits (proportional attention). */
  logSize?: tf.Tensor2D;
  /** Return every head's P. */
  probs?: boolean;
  /** Return the CLS rows of P. */
  clsRows?: boolean;
  /** Return the value norms. */
  valueNorms?: boolean;
  /** Below 1: zero the small probabilities before P·v (`sparsifyAttention`). */
  sparsity?: number;
}

/**
 * Head i's attention of one image, s = softmax(q·kᵀ/√dh (+ log size per key)) [N, N], and its
 * kᵀ [dh, N]; h [N, D] is the LN1 output and hT its transpose. Run inside tf.tidy.
 */
export function headAttention(h: tf.Tensor2D, hT: tf.Tensor2D, layout: HeadLayout, i: number, logSize?: tf.Tensor2D): { s: tf.Tensor2D; kT: tf.Tensor2D } {
  const q = tf.add(tf.matMul(h, layout.q[i]), layout.qB[i]) as tf.Tensor2D; // [N, dh], scaled by 1/√dh
  const kT = tf.add(tf.matMul(layout.kT[i], hT), layout.kTB[i]) as tf.Tensor2D; // [dh, N]
  const logits = tf.matMul(q, kT); // [N, N]
  return { s: tf.softmax(logSize ? tf.add(logits, logSize) : logits) as tf.Tensor2D, kT };
}

/**
 * Multi-head attention of one image with plain 2-D matmuls: h [N, D] (LN1 output) and the block's
 * per-head layout. Run inside tf.tidy.
 */
export function attentionByHead(h: tf.Tensor2D, layout: HeadLayout, options: HeadAttentionOptions = {}): HeadAttention {
  const { logSize } = options;
  const hT = tf.transpose(h); // [D, N]
  const first = tf.zeros([1, 1], 'int32');
  const probs: tf.Tensor2D[] = [];
  const clsRows: tf.Tensor2D[] = [];
  const values: tf.Tensor2D[] = [];
  const keysT: tf.Tensor2D[] = [];
  const outs: tf.Tensor2D[] = [];
  for (let i = 0; i < layout.q.length; i++) {
    const { s: dense, kT } = headAttention(h, hT, layout, i, logSize);
    const s = options.sparsity !== undefined && options.sparsity < 1 ? sparsifyAttention(dense, options.sparsity) : dense;
    const v = tf.add(tf.matMul(h, layout.v[i]), layout.vB[i]) as tf.Tensor2D; // [N, dh]
    // Row 0 by GatherNd: the wasm Slice kernel copies its whole input first (0.07 ms vs 0.01 ms).
    if (options.clsRows) clsRows.push(tf.gatherND(s, first) as tf.Tensor2D);
    if (options.probs) probs.push(s);
    values.push(v);
    keysT.push(kT);
    outs.push(tf.matMul(s, v));
  }
  const join = (parts: tf.Tensor2D[]) => (parts.length === 1 ? parts[0] : (tf.concat(parts, 1) as tf.Tensor2D));
  const result: HeadAttention = { out: join(outs), keysT };
  if (options.valueNorms) result.valueNorms = valueNorms(tf.expandDims(join(values), 0) as tf.Tensor3D);
  if (options.clsRows) result.clsRows = tf.concat(clsRows, 0) as tf.Tensor2D; // [H, N]
  if (options.probs) result.probs = probs;
  return result;
}
