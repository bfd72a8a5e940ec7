/**
 * The Vision Transformer forward pass (ViT / DeiT, pre-norm blocks), with one hook per block where
 * a token-reduction method may act. The model knows nothing of the methods: a hook says where it
 * acts (its slot), what attention must hand it, and returns a Reduction.
 *
 *   x = embed(pixels)                        [B, N, D]  CLS (+DIST) + patches + positions
 *   [carried = initCarried(x): per-forward state a method hands from block to block (GTP's graph)]
 *   for each block l:
 *     [beforeAttention hook: merge x, hand on the merged attention]
 *     h = LN1(x); q, k, v; P = softmax(q·kᵀ/√dh (+ log size per key))  [sparsified if the hook asks]
 *     [insideAttention hook: keep some query rows of P and x]
 *     x = x + proj(P·v)
 *     [afterAttention hook: reduce x]
 *     x = x + MLP(LN2(x))
 *   logits = head(LN(x)[CLS])                 (mean with the distillation head for DeiT distilled)
 */
import * as tf from '@tensorflow/tfjs';
import { invariant } from '../errors';
import { applyAndSum, applySelection, disposeReduction, disposeReductionExtras } from '../tokens/assignment';
import { gatherRows } from '../tokens/gather-rows';
import { kernelsRunOnCpu } from '../tokens/kernel-paths';
import { disposeEvidence } from '../tokens/evidence';
import { APPLY_FAMILY, meanOverHeadsProgram, valueNormsProgram } from '../tokens/webgpu/apply-assignment';
import { fusedFamilyOn } from '../tokens/webgpu/kernel-status';
import { ATTENTION_SPARSITY_FAMILY, kthSmallestProgram } from './webgpu/attention-sparsity';
import { LAYER_NORM_FAMILY, layerNormProgram } from './webgpu/layer-norm';
import { ATTENTION_SPARSITY_GL_FAMILY, kthSmallestGL } from './webgl/attention-sparsity';
import { BLOCK_GL_FAMILY } from './webgl/family';
import { clsRowsGL, meanOverHeadsGL, mergeHeadsGL, splitHeadsGL, valueNormsGL } from './webgl/heads';
import { layerNormGL } from './webgl/layer-norm';
import { softmaxGL } from './webgl/softmax';
import type { AttentionInfo, DeferredReduction, EvidenceTensors, HostValues, NeedsKey, ReduceInput, Reduction, Slot } from '../tokens/types';
import { type VitConfig, headDim } from './config';
import {
  attentionByHead,
  attentionLogits,
  headAttention,
  attentionRunsByHead,
  gelu,
  layerNorm,
  linear,
  mergeHeads,
  sparsifyAttention,
  splitHeads,
  valueNorms,
} from './ops';
import type { BlockWeights, VitWeights } from './weights';

/** One block's token-reduction step, already bound to its per-layer parameters. */
export interface LayerHook {
  method: string;
  slot: Slot;
  needs: NeedsKey[];
  /** Merges tokens (sizes change, proportional attention applies afterwards). */
  merges: boolean;
  reduce(input: ReduceInput): Reduction;
  /** Two-step form for a data-dependent output size (ATS); the engine then uses this, not `reduce`. */
  reduceDeferred?(input: ReduceInput): DeferredReduction;
  /** The token count depends on the image (ATS): batches run image by image. */
  perImage?: boolean;
  /** Below 1: this block's attention probabilities are sparsified before P·v (GTP; ops.ts `sparsifyAttention`). */
  attentionSparsity?: number;
}

export interface ForwardOptions {
  /** One entry per block; null = the block runs unreduced. */
  hooks: (LayerHook | null)[];
  /** Add log(size) to the attention logits per key once sizes exist (ToMe, MCTF). */
  propAttn: boolean;
  /** Keep each reducing layer's assignment tensors for the trace. */
  keepAssignments: boolean;
  /** Ask each method for its decision evidence and keep it for the trace (off: none is made). */
  keepEvidence?: boolean;
  /**
   * Builds, from the embedded tokens [B, N, D] before block 0, the state the hooks carry from block
   * to block (`ReduceInput.carried`; a reduction may hand on a replacement). Freed by the forward.
   */
  initCarried?: (embedded: tf.Tensor3D) => tf.Tensor;
}

/** What one block produced, as tensors (read back once at the end of a run). */
export interface BlockOutput {
  nIn: number;
  nOut: number;
  /** [B, nIn] and [B, nIn] when the layer reduced and assignments are kept. */
  target?: tf.Tensor2D;
  coeff?: tf.Tensor2D;
  fusedRow?: number;
  /** The method's decision evidence, when kept. */
  evidence?: EvidenceTensors;
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

/**
 * Whether the block runs its WebGL programs (./webgl/family.ts): one shader for every token count
 * where TF.js's LayerNorm, softmax, slices and transposes compile one per count.
 */
const blockOnWebGL = () => fusedFamilyOn(BLOCK_GL_FAMILY);

/** LayerNorm of a block (norm1 or norm2) or the final norm, on [B, N, D]. */
function norm(config: VitConfig, x: tf.Tensor3D, params: { gamma: tf.Tensor1D; beta: tf.Tensor1D }): tf.Tensor3D {
  return blockOnWebGL() ? layerNormGL(x, params.gamma, params.beta, config.layer_norm_eps) : layerNorm(x, params.gamma, params.beta, config.layer_norm_eps);
}

/** softmax over the keys of attention logits [B, H, N, N], plus the log size of each key [B, N] when given. */
function attentionSoftmax(q: tf.Tensor4D, k: tf.Tensor4D, logSize: tf.Tensor2D | undefined): tf.Tensor4D {
  return blockOnWebGL() ? softmaxGL(attentionLogits(q, k), logSize) : (tf.softmax(attentionLogits(q, k, logSize)) as tf.Tensor4D);
}

function mergeBlockHeads(x: tf.Tensor4D): tf.Tensor3D {
  return blockOnWebGL() ? mergeHeadsGL(x) : mergeHeads(x);
}

function mlp(config: VitConfig, b: BlockWeights, x: tf.Tensor3D): tf.Tensor3D {
  const h = norm(config, x, b.norm2);
  return linear(gelu(linear(h, b.fc1W, b.fc1B)), b.fc2W, b.fc2B);
}

/** q, k, v per head [B, H, N, dh] from LN1(x). */
function qkv(config: VitConfig, b: BlockWeights, h: tf.Tensor3D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const H = config.num_attention_heads;
  const all = linear(h, b.qkvW, b.qkvB); // [B, N, 3D]
  if (blockOnWebGL()) return [0, 1, 2].map((part) => qkvPart(config, all, part, 3)) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const [q, k, v] = tf.split(all, 3, 2) as tf.Tensor3D[];
  return [splitHeads(q, H), splitHeads(k, H), splitHeads(v, H)];
}

/**
 * Part `part` of `parts` equal column blocks of a projection's output [B, N, parts·D] (q, k, v of
 * the qkv linear, q, k of its q|k split, or v of it as the one part), split into heads: each slice
 * is a dispatch on the GPU backends, and on WebGL one program reads the heads from the columns.
 */
function qkvPart(config: VitConfig, all: tf.Tensor3D, part: number, parts: number): tf.Tensor4D {
  const [B, N, width] = all.shape;
  const D = width / parts;
  const H = config.num_attention_heads;
  if (blockOnWebGL()) return splitHeadsGL(all, part * D, H, D / H);
  return splitHeads(parts === 1 ? all : tf.slice(all, [0, 0, part * D], [B, N, D]), H);
}

function logSizeOf(size: tf.Tensor3D): tf.Tensor2D {
  return tf.log(tf.squeeze(size, [2])) as tf.Tensor2D;
}

/** A block's attention: what the methods may read, and P·V with the heads merged [B, N, D]. */
interface Attended {
  info: AttentionInfo;
  out: tf.Tensor3D;
  /** x + proj(out) for every row, when queued ahead (`forwardSteps`, while a decision's values are read). */
  residual?: tf.Tensor3D;
}

/**
 * LN1, q/k/v and the attention of a block, computing for the hook only what it `needs`. Head by
 * head with 2-D matmuls where that is the fast path (ops.ts `attentionRunsByHead`), else batched.
 */
function blockAttention(config: VitConfig, b: BlockWeights, state: BlockState, hook: LayerHook | null, propAttn: boolean): Attended {
  const h = norm(config, state.x, b.norm1);
  const logSize = propAttn && state.sizeIsTracked ? logSizeOf(state.size) : undefined;
  const needs = hook?.needs ?? [];
  const sparsity = hook?.attentionSparsity;
  const [B, N, D] = h.shape;
  const info: AttentionInfo = {};
  if (b.heads && attentionRunsByHead()) {
    const layout = b.heads;
    const images = eachImage(h, logSize, (rows, sizes) =>
      attentionByHead(rows, layout, {
        logSize: sizes,
        probs: needs.includes('probs'),
        clsRows: needs.includes('clsAttn'),
        valueNorms: needs.includes('valueNorms'),
        sparsity,
      }),
    );
    const H = layout.q.length;
    const stack = <T extends tf.Tensor>(parts: T[], shape: number[]) => tf.reshape(parts.length === 1 ? parts[0] : tf.stack(parts), shape);
    if (needs.includes('probs'))
      info.probs = stack(
        images.map((a) => tf.stack(a.probs!)),
        [B, H, N, N],
      ) as tf.Tensor4D;
    if (needs.includes('clsAttn'))
      info.clsAttn = stack(
        images.map((a) => a.clsRows!),
        [B, H, N],
      ) as tf.Tensor3D;
    if (needs.includes('valueNorms'))
      info.valueNorms = stack(
        images.map((a) => a.valueNorms!),
        [B, N],
      ) as tf.Tensor2D;
    if (needs.includes('keysMean'))
      info.keysMean = stack(
        images.map((a) => tf.transpose(tf.div(tf.addN(a.keysT), H))),
        [B, N, D / H],
      ) as tf.Tensor3D;
    return {
      info,
      out: stack(
        images.map((a) => a.out),
        [B, N, D],
      ) as tf.Tensor3D,
    };
  }
  const [q, k, v] = qkv(config, b, h);
  const dense = attentionSoftmax(q, k, logSize);
  const kthSmallest = fusedFamilyOn(ATTENTION_SPARSITY_FAMILY) ? kthSmallestProgram : fusedFamilyOn(ATTENTION_SPARSITY_GL_FAMILY) ? kthSmallestGL : undefined;
  const probs = sparsity !== undefined && sparsity < 1 ? sparsifyAttention(dense, sparsity, kthSmallest) : dense;
  if (needs.includes('probs')) info.probs = probs;
  if (needs.includes('clsAttn')) info.clsAttn = blockOnWebGL() ? clsRowsGL(probs) : tf.reshape(tf.slice(probs, [0, 0, 0, 0], [B, -1, 1, N]), [B, probs.shape[1], N]);
  if (needs.includes('valueNorms')) info.valueNorms = valueNormsOverHeads(v);
  if (needs.includes('keysMean'))
    info.keysMean = fusedFamilyOn(APPLY_FAMILY) ? meanOverHeadsProgram(k) : blockOnWebGL() ? meanOverHeadsGL(k) : (tf.mean(k, 1) as tf.Tensor3D);
  return { info, out: mergeBlockHeads(tf.matMul(probs, v)) };
}

/** ‖v_n‖₂ over all heads of v [B, H, N, dh] (ATS): one program on WebGPU and WebGL, else the generic ops. */
function valueNormsOverHeads(v: tf.Tensor4D): tf.Tensor2D {
  if (fusedFamilyOn(APPLY_FAMILY)) return valueNormsProgram(v);
  if (blockOnWebGL()) return valueNormsGL(v);
  return valueNorms(mergeBlockHeads(v));
}

/**
 * `fn` on each image of h [B, N, D] as [N, D] rows (and its log sizes [1, N], if any): the per-head
 * attention is written for one image. Rows are picked by GatherNd, which copies only them (the
 * wasm Slice kernel copies its whole input first).
 */
function eachImage<T>(h: tf.Tensor3D, logSize: tf.Tensor2D | undefined, fn: (rows: tf.Tensor2D, logSize: tf.Tensor2D | undefined, image: number) => T): T[] {
  const [B, N, D] = h.shape;
  if (B === 1) return [fn(tf.reshape(h, [N, D]), logSize, 0)];
  const flat = tf.reshape(h, [B * N, D]);
  return Array.from({ length: B }, (_, image) => {
    const rows = tf.gatherND(
      flat,
      tf.tensor2d(
        Int32Array.from({ length: N }, (_, i) => image * N + i),
        [N, 1],
        'int32',
      ),
    ) as tf.Tensor2D;
    const sizes = logSize ? (tf.gatherND(logSize, tf.tensor2d([[image]], [1, 1], 'int32')) as tf.Tensor2D) : undefined;
    return fn(rows, sizes, image);
  });
}

/** MCTF's step: q·kᵀ attention of the block input [B, H, N, N] (no values: they come after merging). */
function attentionProbs(config: VitConfig, b: BlockWeights, x: tf.Tensor3D, logSize: tf.Tensor2D | undefined): tf.Tensor4D {
  const h = norm(config, x, b.norm1);
  const [B, N] = h.shape;
  if (b.heads && attentionRunsByHead()) {
    const layout = b.heads;
    // `attentionByHead`'s probabilities by the same ops, without its values and P·v: MCTF's P·v comes
    // from the merged attention (on wasm 0.5 ms a DeiT-Tiny block otherwise thrown away)
    const headProbs = (rows: tf.Tensor2D, sizes: tf.Tensor2D | undefined) => {
      const hT = tf.transpose(rows); // [D, N]
      return layout.q.map((_, i) => headAttention(rows, hT, layout, i, sizes).s);
    };
    const images = eachImage(h, logSize, (rows, sizes) => tf.stack(headProbs(rows, sizes)));
    return tf.reshape(images.length === 1 ? images[0] : tf.stack(images), [B, layout.q.length, N, N]) as tf.Tensor4D;
  }
  // q and k only (the values come after merging): the q|k columns where prepared (`addQkvSplit`)
  const parts = b.qkvSplit ? 2 : 3;
  const all = b.qkvSplit ? linear(h, b.qkvSplit.qkW, b.qkvSplit.qkB) : linear(h, b.qkvW, b.qkvB);
  return attentionSoftmax(qkvPart(config, all, 0, parts), qkvPart(config, all, 1, parts), logSize);
}

/** P'·V for a given attention P' [B, H, N, N] with V from LN1(x): [B, N, D] (MCTF one-step-ahead). */
function attendWith(config: VitConfig, b: BlockWeights, x: tf.Tensor3D, probs: tf.Tensor4D): tf.Tensor3D {
  // on WebGPU one program instead of LayerNorm's nine: MCTF's step adds this norm to the block
  const h = fusedFamilyOn(LAYER_NORM_FAMILY) ? layerNormProgram(x, b.norm1.gamma, b.norm1.beta, config.layer_norm_eps) : norm(config, x, b.norm1);
  const [B, N, D] = h.shape;
  if (b.heads && attentionRunsByHead()) {
    const layout = b.heads;
    const H = layout.q.length;
    const flatProbs = tf.reshape(probs, [B * H, N, N]);
    const headProbs = (k: number) => tf.reshape(tf.gatherND(flatProbs, tf.tensor2d([[k]], [1, 1], 'int32')), [N, N]) as tf.Tensor2D;
    const images = eachImage(h, undefined, (rows, _sizes, image) => {
      const outs = layout.v.map((w, i) => tf.matMul(headProbs(image * H + i), tf.add(tf.matMul(rows, w), layout.vB[i])));
      return outs.length === 1 ? outs[0] : tf.concat(outs, 1);
    });
    return tf.reshape(images.length === 1 ? images[0] : tf.concat(images, 0), [B, N, D]) as tf.Tensor3D;
  }
  const v = b.qkvSplit ? qkvPart(config, linear(h, b.qkvSplit.vW, b.qkvSplit.vB), 0, 1) : qkvPart(config, linear(h, b.qkvW, b.qkvB), 2, 3);
  return mergeBlockHeads(tf.matMul(probs, v));
}

interface BlockState {
  x: tf.Tensor3D;
  size: tf.Tensor3D;
  sizeIsTracked: boolean;
  /** What the hooks carry from block to block (ForwardOptions.initCarried), if anything. */
  carried?: tf.Tensor;
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
  evidence: boolean,
  precomputed?: Attended,
): BlockState & { reduction?: Reduction } {
  let { x, size, sizeIsTracked } = state;
  let carried = state.carried;
  const useLogSize = propAttn && sizeIsTracked;
  const reduceInput = (attention: AttentionInfo): ReduceInput => ({
    x,
    size,
    sizeIsTracked,
    attention,
    layer,
    depth: config.num_hidden_layers,
    classToken: true,
    distillToken: config.distilled === true,
    evidence,
    carried,
  });
  /**
   * x and size through the reduction's assignment: gathered rows for the selecting methods (pruning,
   * sampling; one image for ATS, whose batched form pads with empty rows), the matrix for merges.
   */
  const applyReduction = (r: Reduction) => {
    if (r.carried) carried = r.carried;
    if (r.features && r.sizes) {
      // the method computed both (GTP's propagation and its token scales)
      x = r.features;
      size = r.sizes;
      sizeIsTracked = true;
      return;
    }
    if (r.rows && kernelsRunOnCpu()) {
      // a plain selection whose rows are known: one GatherNd per tensor; sizes all still 1 unless tracked
      x = gatherRows(x, r.rows);
      size = sizeIsTracked ? gatherRows(size, r.rows) : (tf.ones([x.shape[0], x.shape[1], 1]) as tf.Tensor3D);
      return;
    }
    if (r.sizeCoeff) {
      // merges and drops at once, with sizes weighted apart from the features (DiffRate)
      x = applyAndSum(r.assignment, [x], []).applied[0];
      size = applyAndSum({ ...r.assignment, coeff: r.sizeCoeff }, [size], []).applied[0];
      sizeIsTracked = true;
      return;
    }
    const selects = hook !== null && !hook.merges && !(hook.perImage && x.shape[0] > 1);
    const weighted = r.features ? [] : [x];
    const { applied, sums } = selects
      ? applySelection(r.assignment, weighted, [size])
      : applyAndSum(r.assignment, weighted, [size], { everyInputKept: hook?.merges === true });
    x = r.features ?? applied[0];
    size = sums[0];
    if (hook?.merges) sizeIsTracked = true;
  };

  let reduction: Reduction | undefined;
  let attnOut: tf.Tensor3D;
  let attention: AttentionInfo = {};
  if (hook?.slot === 'beforeAttention') {
    const probs = attentionProbs(config, b, x, useLogSize ? logSizeOf(size) : undefined);
    reduction = hook.reduce(reduceInput({ probs }));
    applyReduction(reduction);
    invariant(reduction.attnNext, `${hook.method} at layer ${layer} must hand on the merged attention`);
    attnOut = attendWith(config, b, x, reduction.attnNext);
  } else {
    const attended = precomputed ?? blockAttention(config, b, state, hook, propAttn);
    attention = attended.info;
    attnOut = attended.out;
    if (hook?.slot === 'insideAttention') reduction = hook.reduce(reduceInput(attention));
  }
  x = precomputed?.residual ?? tf.add(x, linear(attnOut, b.projW, b.projB));

  if (hook?.slot === 'insideAttention') {
    // Only the kept query rows go on. Selected after the residual add, once, rather than from both
    // the residual stream and the attention output: the same rows (the projection and the add are
    // row by row), one selection instead of two, for (N − kept)·D² extra projection MACs.
    applyReduction(reduction!);
  }

  if (hook?.slot === 'afterAttention') {
    reduction = hook.reduce(reduceInput(attention));
    applyReduction(reduction);
  }

  x = tf.add(x, mlp(config, b, x));
  return { x, size, sizeIsTracked, carried, reduction };
}

/** Logits from the final tokens: LN, then the head on CLS (averaged with the distillation head). */
export function head(config: VitConfig, w: VitWeights, x: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, , D] = x.shape;
    const normed = norm(config, x, w.norm);
    const cls = tf.reshape(tf.slice(normed, [0, 0, 0], [B, 1, D]), [B, D]) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(cls, w.headW), w.headB) as tf.Tensor2D;
    if (!w.headDistW || !w.headDistB) return logits;
    const dist = tf.reshape(tf.slice(normed, [0, 1, 0], [B, 1, D]), [B, D]) as tf.Tensor2D;
    return tf.div(tf.add(logits, tf.add(tf.matMul(dist, w.headDistW), w.headDistB)), 2) as tf.Tensor2D;
  });
}

/** What `forwardSteps` yields once the read it asked for must be finished: the driver resumes it with the values. */
const FINISH_READ = Symbol('finish read');

/**
 * The forward pass as steps: each block runs in its own tidy, and a block whose method's decision
 * needs host values (ATS's kept count, ATC's distances) yields the tensor to read, queues the work
 * that does not depend on the values, then yields FINISH_READ and waits for them. The sync driver
 * reads with dataSync, the async one with data(): WebGPU reads synchronously only through a slow
 * canvas round trip that stalls the queue. On the GPU backends `data()` puts its fence in the queue
 * at once, so the work queued after it (the block's projection and residual over every row, which
 * the block computes before selecting anyway) runs while the read's signal comes back (about 17 ms
 * a read on WebGL: docs/PERFORMANCE.md).
 */
function* forwardSteps(
  config: VitConfig,
  w: VitWeights,
  pixels: tf.Tensor4D,
  options: ForwardOptions,
): Generator<tf.Tensor | typeof FINISH_READ, ForwardTensors, HostValues | undefined> {
  const { hooks, propAttn, keepAssignments, keepEvidence = false, initCarried } = options;
  invariant(hooks.length === config.num_hidden_layers, `plan has ${hooks.length} layers, model has ${config.num_hidden_layers}`);
  const blocks: BlockOutput[] = [];
  let state: BlockState = tf.tidy(() => {
    const x = embed(config, w, pixels);
    const carried = initCarried ? initCarried(x) : undefined;
    return { x, size: tf.ones([x.shape[0], x.shape[1], 1]) as tf.Tensor3D, sizeIsTracked: false, carried } as unknown as tf.TensorContainer;
  }) as unknown as BlockState;
  try {
    for (const [l, b] of w.blocks.entries()) {
      let hook = hooks[l];
      let precomputed: Attended | undefined;
      let deferred: DeferredReduction | undefined;
      if (hook?.reduceDeferred) {
        const current = state;
        const deferredHook = hook;
        // tidy keeps what it returns; the deferred decision keeps its own tensors until dispose().
        precomputed = tf.tidy(() => {
          const attended = blockAttention(config, b, current, deferredHook, propAttn);
          deferred = deferredHook.reduceDeferred!({
            x: current.x,
            size: current.size,
            sizeIsTracked: current.sizeIsTracked,
            attention: attended.info,
            layer: l,
            depth: config.num_hidden_layers,
            classToken: true,
            distillToken: config.distilled === true,
            evidence: keepEvidence,
            carried: current.carried,
          });
          return attended as unknown as tf.TensorContainer;
        }) as unknown as Attended;
        yield deferred!.read;
        if (deferredHook.slot !== 'beforeAttention') {
          const { out } = precomputed;
          precomputed.residual = tf.tidy(() => tf.add(current.x, linear(out, b.projW, b.projB)) as tf.Tensor3D);
        }
        const values = (yield FINISH_READ) as HostValues;
        const decided = deferred!;
        hook = { ...deferredHook, reduceDeferred: undefined, reduce: () => decided.complete(values) };
      }
      const previous = state;
      const nIn = previous.x.shape[1];
      const out = tf.tidy(
        () => block(config, b, l, previous, hook, propAttn, keepEvidence, precomputed) as unknown as tf.TensorContainer,
      ) as unknown as BlockState & { reduction?: Reduction };
      deferred?.dispose();
      if (precomputed) tf.dispose(precomputed as unknown as tf.TensorContainer);
      // A block without reduction hands the same size tensor (and carried state) on: free only what was replaced.
      tf.dispose([previous.x, previous.size, previous.carried].filter((t): t is tf.Tensor => t !== undefined && t !== out.x && t !== out.size && t !== out.carried));
      const record: BlockOutput = { nIn, nOut: out.x.shape[1] };
      const r = out.reduction;
      if (r) {
        if (keepEvidence) record.evidence = r.evidence;
        else disposeEvidence(r.evidence);
        r.evidence = undefined;
        if (keepAssignments) {
          record.target = r.assignment.target;
          record.coeff = r.assignment.coeff;
          record.fusedRow = r.assignment.fusedRow;
          disposeReductionExtras(r);
        } else {
          disposeReduction(r);
        }
      }
      blocks.push(record);
      state = { x: out.x, size: out.size, sizeIsTracked: out.sizeIsTracked, carried: out.carried };
    }
    return { logits: head(config, w, state.x), blocks };
  } catch (e) {
    disposeBlockOutputs(blocks);
    throw e;
  } finally {
    tf.dispose([state.x, state.size, ...(state.carried ? [state.carried] : [])]);
  }
}

/** Frees what the blocks kept for the trace (assignments, evidence). */
export function disposeBlockOutputs(blocks: BlockOutput[]): void {
  for (const b of blocks) {
    tf.dispose([b.target, b.coeff].filter((t): t is tf.Tensor2D => t !== undefined));
    disposeEvidence(b.evidence);
  }
}

/**
 * The whole forward pass on normalised pixels [B, S, S, C], synchronously (Node, training, the
 * CPU-readable backends). The caller owns every returned tensor (logits and kept assignments).
 */
export function forwardTensors(config: VitConfig, w: VitWeights, pixels: tf.Tensor4D, options: ForwardOptions): ForwardTensors {
  const steps = forwardSteps(config, w, pixels, options);
  let reading: tf.Tensor | null = null;
  let step = steps.next();
  while (!step.done) {
    if (step.value === FINISH_READ) {
      step = steps.next(reading!.dataSync() as HostValues);
      reading = null;
    } else {
      reading = step.value;
      step = steps.next(undefined);
    }
  }
  return step.value;
}

/** The same forward pass, reading data-dependent counts asynchronously (required on WebGPU). */
export async function forwardTensorsAsync(config: VitConfig, w: VitWeights, pixels: tf.Tensor4D, options: ForwardOptions): Promise<ForwardTensors> {
  const steps = forwardSteps(config, w, pixels, options);
  let reading: Promise<unknown> | null = null;
  let step = steps.next();
  while (!step.done) {
    if (step.value === FINISH_READ) {
      step = steps.next((await reading!) as HostValues);
      reading = null;
    } else {
      reading = step.value.data(); // starts the read now; the generator queues more work before it is awaited
      step = steps.next(undefined);
    }
  }
  return step.value;
}

export { headDim };
