/**
 * The Vision Transformer forward pass (ViT / DeiT, pre-norm blocks), with one hook per block where
 * a token-reduction method may act. The model knows nothing of the methods: a hook says where it
 * acts (its slot), what attention must hand it, and returns a Reduction.
 *
 *   x = embed(pixels)                        [B, N, D]  CLS (+DIST) + patches + positions
 *   for each block l:
 *     [beforeAttention hook: merge x, hand on the merged attention]
 *     h = LN1(x); q, k, v; P = softmax(q·kᵀ/√dh (+ log size per key))
 *     [insideAttention hook: keep some query rows of P and x]
 *     x = x + proj(P·v)
 *     [afterAttention hook: reduce x]
 *     x = x + MLP(LN2(x))
 *   logits = head(LN(x)[CLS])                 (mean with the distillation head for DeiT distilled)
 */
import * as tf from '@tensorflow/tfjs';
import { invariant } from '../errors';
import { applyAssignment, sumInto } from '../reduce/assignment';
import type { AttentionInfo, NeedsKey, Reduction, Slot } from '../reduce/types';
import { type VitConfig, headDim } from './config';
import { attentionLogits, gelu, layerNorm, linear, mergeHeads, splitHeads } from './ops';
import type { BlockWeights, VitWeights } from './weights';

/** One block's token-reduction step, already bound to its per-layer parameters. */
export interface LayerHook {
  method: string;
  slot: Slot;
  needs: NeedsKey[];
  /** Merges tokens (sizes change, proportional attention applies afterwards). */
  merges: boolean;
  reduce(input: import('../reduce/types').ReduceInput): Reduction;
  /** The token count depends on the image (ATS): batches run image by image. */
  perImage?: boolean;
  /** Replaces the block's softmax (ATS uses its masked softmax with eps). */
  softmax?: (logits: tf.Tensor4D) => tf.Tensor4D;
}

export interface ForwardOptions {
  /** One entry per block; null = the block runs unreduced. */
  hooks: (LayerHook | null)[];
  /** Add log(size) to the attention logits per key once sizes exist (ToMe, MCTF). */
  propAttn: boolean;
  /** Keep each reducing layer's assignment tensors for the trace. */
  keepAssignments: boolean;
}

/** What one block produced, as tensors (read back once at the end of a run). */
export interface BlockOutput {
  nIn: number;
  nOut: number;
  /** [B, nIn] and [B, nIn] when the layer reduced and assignments are kept. */
  target?: tf.Tensor2D;
  coeff?: tf.Tensor2D;
  fusedRow?: number;
}

export interface ForwardTensors {
  logits: tf.Tensor2D; // [B, labels]
  blocks: BlockOutput[];
}

/** Patch embedding as one matmul: [B, S, S, C] pixels -> [B, P, D]. */
export function embedPatches(config: VitConfig, w: VitWeights, pixels: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, S, , C] = pixels.shape;
    const p = config.patch_size;
    const g = S / p;
    // [B, g, p, g, p, C] -> [B, g, g, C, p, p]: rows in the conv kernel's (channel, row, col) order
    const patches = tf.reshape(tf.transpose(tf.reshape(pixels, [B, g, p, g, p, C]), [0, 1, 3, 5, 2, 4]), [B, g * g, C * p * p]);
    return linear(patches as tf.Tensor3D, w.patchW, w.patchB);
  });
}

/** Class token (+ distillation token) prepended, position embeddings added: [B, N, D]. */
export function embed(config: VitConfig, w: VitWeights, pixels: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const B = pixels.shape[0];
    const D = config.hidden_size;
    const patches = embedPatches(config, w, pixels);
    const special = w.distToken ? tf.concat([w.clsToken, w.distToken], 0) : w.clsToken;
    const specialB = tf.tile(tf.reshape(special, [1, special.shape[0], D]), [B, 1, 1]);
    return tf.add(tf.concat([specialB, patches], 1), w.posEmbed) as tf.Tensor3D;
  });
}

function mlp(config: VitConfig, b: BlockWeights, x: tf.Tensor3D): tf.Tensor3D {
  const h = layerNorm(x, b.norm2.gamma, b.norm2.beta, config.layer_norm_eps);
  return linear(gelu(linear(h, b.fc1W, b.fc1B)), b.fc2W, b.fc2B);
}

/** q, k, v per head [B, H, N, dh] from LN1(x). */
function qkv(config: VitConfig, b: BlockWeights, h: tf.Tensor3D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const H = config.num_attention_heads;
  const all = linear(h, b.qkvW, b.qkvB); // [B, N, 3D]
  const [q, k, v] = tf.split(all, 3, 2) as tf.Tensor3D[];
  return [splitHeads(q, H), splitHeads(k, H), splitHeads(v, H)];
}

function logSizeOf(size: tf.Tensor3D): tf.Tensor2D {
  return tf.log(tf.squeeze(size, [2])) as tf.Tensor2D;
}

interface BlockState {
  x: tf.Tensor3D;
  size: tf.Tensor3D;
  sizeIsTracked: boolean;
}

/**
 * One block. Runs inside the caller's tidy; returns the new state and, when `hook` reduced, its
 * assignment (tensors the caller keeps or lets tidy dispose).
 */
function block(
  config: VitConfig,
  b: BlockWeights,
  layer: number,
  state: BlockState,
  hook: LayerHook | null,
  propAttn: boolean,
): BlockState & { reduction?: Reduction } {
  const eps = config.layer_norm_eps;
  let { x, size, sizeIsTracked } = state;
  const useLogSize = propAttn && sizeIsTracked;
  const reduceInput = (attention: AttentionInfo) => ({
    x,
    size,
    sizeIsTracked,
    attention,
    layer,
    depth: config.num_hidden_layers,
    classToken: true,
    distillToken: config.distilled === true,
  });
  const applyReduction = (r: Reduction) => {
    x = r.features ?? applyAssignment(r.assignment, x);
    size = sumInto(r.assignment, size);
    if (hook?.merges) sizeIsTracked = true;
  };

  let reduction: Reduction | undefined;
  let attnOut: tf.Tensor3D;
  let attention: AttentionInfo = {};
  if (hook?.slot === 'beforeAttention') {
    const [q, k] = qkv(config, b, layerNorm(x, b.norm1.gamma, b.norm1.beta, eps));
    const probs = tf.softmax(attentionLogits(q, k, useLogSize ? logSizeOf(size) : undefined)) as tf.Tensor4D;
    reduction = hook.reduce(reduceInput({ probs }));
    applyReduction(reduction);
    invariant(reduction.attnNext, `${hook.method} at layer ${layer} must hand on the merged attention`);
    const [, , v] = qkv(config, b, layerNorm(x, b.norm1.gamma, b.norm1.beta, eps));
    attnOut = mergeHeads(tf.matMul(reduction.attnNext, v));
  } else {
    const [q, k, v] = qkv(config, b, layerNorm(x, b.norm1.gamma, b.norm1.beta, eps));
    const logits = attentionLogits(q, k, useLogSize ? logSizeOf(size) : undefined);
    const probs = hook?.softmax ? hook.softmax(logits) : (tf.softmax(logits) as tf.Tensor4D);
    attention = { probs, values: v, keysMean: hook?.needs.includes('keysMean') ? (tf.mean(k, 1) as tf.Tensor3D) : undefined };
    attnOut = mergeHeads(tf.matMul(probs, v));
    if (hook?.slot === 'insideAttention') {
      reduction = hook.reduce(reduceInput(attention));
      // Only the kept query rows go on: select them from the residual stream and the attention output.
      attnOut = applyAssignment(reduction.assignment, attnOut);
      applyReduction(reduction);
    }
  }
  x = tf.add(x, linear(attnOut, b.projW, b.projB));

  if (hook?.slot === 'afterAttention') {
    reduction = hook.reduce(reduceInput(attention));
    applyReduction(reduction);
  }

  x = tf.add(x, mlp(config, b, x));
  return { x, size, sizeIsTracked, reduction };
}

/** Logits from the final tokens: LN, then the head on CLS (averaged with the distillation head). */
export function head(config: VitConfig, w: VitWeights, x: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, , D] = x.shape;
    const normed = layerNorm(x, w.norm.gamma, w.norm.beta, config.layer_norm_eps);
    const cls = tf.reshape(tf.slice(normed, [0, 0, 0], [B, 1, D]), [B, D]) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(cls, w.headW), w.headB) as tf.Tensor2D;
    if (!w.headDistW || !w.headDistB) return logits;
    const dist = tf.reshape(tf.slice(normed, [0, 1, 0], [B, 1, D]), [B, D]) as tf.Tensor2D;
    return tf.div(tf.add(logits, tf.add(tf.matMul(dist, w.headDistW), w.headDistB)), 2) as tf.Tensor2D;
  });
}

/**
 * The whole forward pass on normalised pixels [B, S, S, C]. Synchronous; the caller owns every
 * returned tensor (logits and the kept assignments).
 */
export function forwardTensors(config: VitConfig, w: VitWeights, pixels: tf.Tensor4D, options: ForwardOptions): ForwardTensors {
  const { hooks, propAttn, keepAssignments } = options;
  invariant(hooks.length === config.num_hidden_layers, `plan has ${hooks.length} layers, model has ${config.num_hidden_layers}`);
  const blocks: BlockOutput[] = [];
  const logits = tf.tidy(() => {
    let state: BlockState = { x: embed(config, w, pixels), size: tf.ones([pixels.shape[0], 0, 1]) as tf.Tensor3D, sizeIsTracked: false };
    state.size = tf.ones([pixels.shape[0], state.x.shape[1], 1]) as tf.Tensor3D;
    for (const [l, b] of w.blocks.entries()) {
      const nIn = state.x.shape[1];
      const out = block(config, b, l, state, hooks[l], propAttn);
      const record: BlockOutput = { nIn, nOut: out.x.shape[1] };
      if (out.reduction && keepAssignments) {
        record.target = tf.keep(out.reduction.assignment.target);
        record.coeff = tf.keep(out.reduction.assignment.coeff);
        record.fusedRow = out.reduction.assignment.fusedRow;
      }
      blocks.push(record);
      state = out;
    }
    return head(config, w, state.x);
  });
  return { logits, blocks };
}

export { headDim };
