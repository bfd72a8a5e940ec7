/**
 * The ViT's weights as tensors laid out for the forward pass (Linear weights as [in, out], so a
 * layer is one plain 2-D matmul, the fastest kernel on wasm).
 *
 * Checkpoints name tensors the timm way (`blocks.3.attn.qkv.weight`, Linear weights [out, in]);
 * io/checkpoint-names.ts maps other layouts (Hugging Face ViT/DeiT) onto these names first.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import { type VitConfig, numPatches, numLabels } from './config';

export interface LayerNormWeights {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

export interface BlockWeights {
  norm1: LayerNormWeights;
  qkvW: tf.Tensor2D; // [D, 3D] (q | k | v columns)
  qkvB: tf.Tensor1D; // [3D]
  projW: tf.Tensor2D; // [D, D]
  projB: tf.Tensor1D;
  norm2: LayerNormWeights;
  fc1W: tf.Tensor2D; // [D, I]
  fc1B: tf.Tensor1D;
  fc2W: tf.Tensor2D; // [I, D]
  fc2B: tf.Tensor1D;
  /** The same q/k/v projection split per head, when prepared (`addHeadLayout`). */
  heads?: HeadLayout;
  /** The same q/k/v projection as q|k and v column blocks, when prepared (`addQkvSplit`). */
  qkvSplit?: QkvSplit;
}

/**
 * One block's qkv projection cut into its q|k columns and its v columns, for a step that needs only
 * q and k or only v (MCTF's attention on the N tokens, then its values on the merged ones): each a
 * matmul of just the columns it needs, with no slice of the full output.
 */
export interface QkvSplit {
  qkW: tf.Tensor2D; // [D, 2D] (q | k columns)
  qkB: tf.Tensor1D; // [2D]
  vW: tf.Tensor2D; // [D, D]
  vB: tf.Tensor1D; // [D]
}

/**
 * One block's qkv projection split per head, so attention runs as plain 2-D matmuls (the wasm
 * fast path, model/ops.ts). Derived from qkvW/qkvB; q is pre-scaled by 1/√dh (exact for dh = 64).
 * For head h: q_h = LN1(x)·q[h] + qB[h] [N, dh], k_hᵀ = kT[h]·LN1(x)ᵀ + kTB[h] [dh, N],
 * v_h = LN1(x)·v[h] + vB[h] [N, dh].
 */
export interface HeadLayout {
  q: tf.Tensor2D[]; // [D, dh]
  qB: tf.Tensor1D[]; // [dh]
  kT: tf.Tensor2D[]; // [dh, D]
  kTB: tf.Tensor2D[]; // [dh, 1]
  v: tf.Tensor2D[]; // [D, dh]
  vB: tf.Tensor1D[]; // [dh]
}

export interface VitWeights {
  patchW: tf.Tensor2D; // [C·p·p, D], rows in (channel, row, col) order like a conv kernel [D, C, p, p]
  patchB: tf.Tensor1D; // [D]
  clsToken: tf.Tensor2D; // [1, D]
  distToken?: tf.Tensor2D; // [1, D]
  posEmbed: tf.Tensor2D; // [tokens, D]
  blocks: BlockWeights[];
  norm: LayerNormWeights;
  headW: tf.Tensor2D; // [D, labels]
  headB: tf.Tensor1D;
  headDistW?: tf.Tensor2D;
  headDistB?: tf.Tensor1D;
}

/** A flat map of timm-named float32 arrays, as read from a checkpoint. */
export type NamedArrays = Map<string, { shape: number[]; data: Float32Array }>;

/** Builds weights from timm-named arrays; throws 'shape-mismatch' naming the first bad tensor. */
export function weightsFromTimm(config: VitConfig, named: NamedArrays): VitWeights {
  const D = config.hidden_size;
  const I = config.intermediate_size;
  const C = config.num_channels;
  const p = config.patch_size;
  const L = numLabels(config);
  const tokens = numPatches(config) + 1 + (config.distilled ? 1 : 0);
  const created: tf.Tensor[] = [];
  const take = (name: string, shape: number[]): tf.Tensor => {
    const entry = named.get(name);
    if (!entry) throw new TokenScopeError('shape-mismatch', `checkpoint is missing tensor '${name}' (expected shape [${shape}])`);
    const size = shape.reduce((a, b) => a * b, 1);
    const got = entry.shape.reduce((a, b) => a * b, 1);
    const squeezed = entry.shape.filter((d) => d !== 1).join(',');
    if (got !== size || squeezed !== shape.filter((d) => d !== 1).join(',')) {
      throw new TokenScopeError('shape-mismatch', `tensor '${name}' has shape [${entry.shape}], expected [${shape}]`);
    }
    const t = tf.tensor(entry.data, shape, 'float32');
    created.push(t);
    return t;
  };
  /** Linear weight [out, in] -> [in, out]. */
  const linear = (name: string, out: number, inp: number): tf.Tensor2D => {
    const w = take(name, [out, inp]);
    const t = tf.transpose(w) as tf.Tensor2D;
    created.push(t);
    return t;
  };
  const vec = (name: string, n: number) => take(name, [n]) as tf.Tensor1D;
  const ln = (prefix: string): LayerNormWeights => ({ gamma: vec(`${prefix}.weight`, D), beta: vec(`${prefix}.bias`, D) });
  try {
    const conv = take('patch_embed.proj.weight', [D, C, p, p]);
    const flat = tf.reshape(conv, [D, C * p * p]);
    created.push(flat);
    const patchW = tf.transpose(flat) as tf.Tensor2D;
    created.push(patchW);
    const weights: VitWeights = {
      patchW,
      patchB: vec('patch_embed.proj.bias', D),
      clsToken: take('cls_token', [1, D]) as tf.Tensor2D,
      posEmbed: take('pos_embed', [tokens, D]) as tf.Tensor2D,
      blocks: Array.from({ length: config.num_hidden_layers }, (_, l) => {
        const b = `blocks.${l}`;
        return {
          norm1: ln(`${b}.norm1`),
          qkvW: linear(`${b}.attn.qkv.weight`, 3 * D, D),
          qkvB: vec(`${b}.attn.qkv.bias`, 3 * D),
          projW: linear(`${b}.attn.proj.weight`, D, D),
          projB: vec(`${b}.attn.proj.bias`, D),
          norm2: ln(`${b}.norm2`),
          fc1W: linear(`${b}.mlp.fc1.weight`, I, D),
          fc1B: vec(`${b}.mlp.fc1.bias`, I),
          fc2W: linear(`${b}.mlp.fc2.weight`, D, I),
          fc2B: vec(`${b}.mlp.fc2.bias`, D),
        };
      }),
      norm: ln('norm'),
      headW: linear('head.weight', L, D),
      headB: vec('head.bias', L),
    };
    if (config.distilled) {
      weights.distToken = take('dist_token', [1, D]) as tf.Tensor2D;
      weights.headDistW = linear('head_dist.weight', L, D);
      weights.headDistB = vec('head_dist.bias', L);
    }
    // Drop the intermediate [out, in] copies; keep only what the forward reads.
    const kept = new Set<tf.Tensor>(listWeights(weights));
    tf.dispose(created.filter((t) => !kept.has(t)));
    return weights;
  } catch (e) {
    tf.dispose(created);
    throw e;
  }
}

/** timm-named arrays of a model's weights (Linear weights back to [out, in]). */
export async function weightsToTimm(config: VitConfig, w: VitWeights): Promise<NamedArrays> {
  const D = config.hidden_size;
  const C = config.num_channels;
  const p = config.patch_size;
  const out: NamedArrays = new Map();
  const put = async (name: string, t: tf.Tensor, transposeLinear = false) => {
    const src = transposeLinear ? tf.transpose(t) : t;
    out.set(name, { shape: src.shape.slice(), data: (await src.data()) as Float32Array });
    if (src !== t) src.dispose();
  };
  const conv = tf.tidy(() => tf.reshape(tf.transpose(w.patchW), [D, C, p, p]));
  await put('patch_embed.proj.weight', conv);
  conv.dispose();
  await put('patch_embed.proj.bias', w.patchB);
  await put('cls_token', w.clsToken);
  await put('pos_embed', w.posEmbed);
  for (const [l, b] of w.blocks.entries()) {
    const k = `blocks.${l}`;
    await put(`${k}.norm1.weight`, b.norm1.gamma);
    await put(`${k}.norm1.bias`, b.norm1.beta);
    await put(`${k}.attn.qkv.weight`, b.qkvW, true);
    await put(`${k}.attn.qkv.bias`, b.qkvB);
    await put(`${k}.attn.proj.weight`, b.projW, true);
    await put(`${k}.attn.proj.bias`, b.projB);
    await put(`${k}.norm2.weight`, b.norm2.gamma);
    await put(`${k}.norm2.bias`, b.norm2.beta);
    await put(`${k}.mlp.fc1.weight`, b.fc1W, true);
    await put(`${k}.mlp.fc1.bias`, b.fc1B);
    await put(`${k}.mlp.fc2.weight`, b.fc2W, true);
    await put(`${k}.mlp.fc2.bias`, b.fc2B);
  }
  await put('norm.weight', w.norm.gamma);
  await put('norm.bias', w.norm.beta);
  await put('head.weight', w.headW, true);
  await put('head.bias', w.headB);
  if (w.distToken && w.headDistW && w.headDistB) {
    await put('dist_token', w.distToken);
    await put('head_dist.weight', w.headDistW, true);
    await put('head_dist.bias', w.headDistB);
  }
  return out;
}

/**
 * Every tensor of the weights, for disposal or as trainable variables: the checkpoint's tensors in
 * a fixed order, then the derived per-head layouts where `addHeadLayout` made them and the q|k, v
 * splits where `addQkvSplit` made them.
 */
export function listWeights(w: VitWeights): tf.Tensor[] {
  const ln = (n: LayerNormWeights) => [n.gamma, n.beta];
  return [
    w.patchW,
    w.patchB,
    w.clsToken,
    w.posEmbed,
    ...w.blocks.flatMap((b) => [...ln(b.norm1), b.qkvW, b.qkvB, b.projW, b.projB, ...ln(b.norm2), b.fc1W, b.fc1B, b.fc2W, b.fc2B]),
    ...ln(w.norm),
    w.headW,
    w.headB,
    ...(w.distToken ? [w.distToken] : []),
    ...(w.headDistW && w.headDistB ? [w.headDistW, w.headDistB] : []),
    ...w.blocks.flatMap((b) => (b.heads ? headLayoutTensors(b.heads) : [])),
    ...w.blocks.flatMap((b) => (b.qkvSplit ? [b.qkvSplit.qkW, b.qkvSplit.qkB, b.qkvSplit.vW, b.qkvSplit.vB] : [])),
  ];
}

function headLayoutTensors(h: HeadLayout): tf.Tensor[] {
  return [...h.q, ...h.qB, ...h.kT, ...h.kTB, ...h.v, ...h.vB];
}

/**
 * Adds each block's per-head layout (`BlockWeights.heads`) for inference; idempotent. The new
 * tensors belong to the weights and go with them in `listWeights`. Trainable weights (tf.Variable)
 * are left alone: a copy would go stale at the next optimiser step.
 */
export function addHeadLayout(config: VitConfig, w: VitWeights): void {
  const D = config.hidden_size;
  const H = config.num_attention_heads;
  const dh = D / H;
  const scale = 1 / Math.sqrt(dh);
  for (const b of w.blocks) {
    if (b.heads || b.qkvW instanceof tf.Variable) continue;
    b.heads = tf.tidy(() => {
      const cols = (t: tf.Tensor2D, part: number, h: number) => tf.slice(t, [0, part * D + h * dh], [D, dh]) as tf.Tensor2D;
      const bias = (part: number, h: number) => tf.slice(b.qkvB, [part * D + h * dh], [dh]) as tf.Tensor1D;
      const heads = Array.from({ length: H }, (_, h) => h);
      const layout: HeadLayout = {
        q: heads.map((h) => tf.mul(cols(b.qkvW, 0, h), scale) as tf.Tensor2D),
        qB: heads.map((h) => tf.mul(bias(0, h), scale) as tf.Tensor1D),
        kT: heads.map((h) => tf.transpose(cols(b.qkvW, 1, h)) as tf.Tensor2D),
        kTB: heads.map((h) => tf.reshape(bias(1, h), [dh, 1]) as tf.Tensor2D),
        v: heads.map((h) => cols(b.qkvW, 2, h)),
        vB: heads.map((h) => bias(2, h)),
      };
      return layout as unknown as tf.TensorContainer;
    }) as unknown as HeadLayout;
  }
}

/**
 * Adds each block's q|k and v column blocks (`BlockWeights.qkvSplit`) for inference on the GPU
 * backends; idempotent. Like `addHeadLayout`'s, the new tensors belong to the weights (`listWeights`)
 * and trainable weights are left alone.
 */
export function addQkvSplit(w: VitWeights): void {
  for (const b of w.blocks) {
    if (b.qkvSplit || b.qkvW instanceof tf.Variable) continue;
    const D = b.qkvW.shape[1] / 3;
    b.qkvSplit = tf.tidy(() => {
      const split: QkvSplit = {
        qkW: tf.slice(b.qkvW, [0, 0], [-1, 2 * D]),
        qkB: tf.slice(b.qkvB, [0], [2 * D]),
        vW: tf.slice(b.qkvW, [0, 2 * D], [-1, D]),
        vB: tf.slice(b.qkvB, [2 * D], [D]),
      };
      return split as unknown as tf.TensorContainer;
    }) as unknown as QkvSplit;
  }
}

/** Deterministic random weights (truncated-normal-like, std 0.02, LN at identity), for tests and training. */
export function randomWeights(config: VitConfig, seed = 0): VitWeights {
  const D = config.hidden_size;
  const I = config.intermediate_size;
  const inPatch = config.num_channels * config.patch_size ** 2;
  const L = numLabels(config);
  const tokens = numPatches(config) + 1 + (config.distilled ? 1 : 0);
  let s = seed;
  const normal = (shape: number[], std = 0.02) => tf.truncatedNormal(shape, 0, std, 'float32', s++);
  const zeros = (n: number) => tf.zeros([n]) as tf.Tensor1D;
  const ln = (): LayerNormWeights => ({ gamma: tf.ones([D]) as tf.Tensor1D, beta: zeros(D) });
  const w: VitWeights = {
    patchW: normal([inPatch, D]) as tf.Tensor2D,
    patchB: zeros(D),
    clsToken: normal([1, D]) as tf.Tensor2D,
    posEmbed: normal([tokens, D]) as tf.Tensor2D,
    blocks: Array.from({ length: config.num_hidden_layers }, () => ({
      norm1: ln(),
      qkvW: normal([D, 3 * D]) as tf.Tensor2D,
      qkvB: zeros(3 * D),
      projW: normal([D, D]) as tf.Tensor2D,
      projB: zeros(D),
      norm2: ln(),
      fc1W: normal([D, I]) as tf.Tensor2D,
      fc1B: zeros(I),
      fc2W: normal([I, D]) as tf.Tensor2D,
      fc2B: zeros(D),
    })),
    norm: ln(),
    headW: normal([D, L]) as tf.Tensor2D,
    headB: zeros(L),
  };
  if (config.distilled) {
    w.distToken = normal([1, D]) as tf.Tensor2D;
    w.headDistW = normal([D, L]) as tf.Tensor2D;
    w.headDistB = zeros(L);
  }
  return w;
}
