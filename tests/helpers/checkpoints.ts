/**
 * Small random checkpoints in every naming TokenScope reads, written the way each upstream writes
 * them. The renaming here is spelled out independently of src/io/checkpoint-names.ts, so a test
 * that loads these files checks the loader against an outside description of each layout:
 *
 *   timm       cls_token, dist_token, pos_embed, patch_embed.proj.*, blocks.L.{norm1, attn.qkv,
 *              attn.proj, norm2, mlp.fc1, mlp.fc2}.*, norm.*, head.*, head_dist.*
 *   hf-vit     vit.embeddings.*, vit.encoder.layer.L.attention.attention.{query,key,value}.*, …,
 *              vit.layernorm.*, classifier.*  (plus a pooler, which classifiers ignore)
 *   hf-deit    deit.* likewise, with deit.embeddings.distillation_token, cls_classifier.* and
 *              distillation_classifier.*
 */
import type { VitConfig } from '../../src/model/config';
import type { NamedArrays } from '../../src/model/weights';
import { writeSafetensors, type SafetensorsDtype, type SafetensorsTensorInput } from '../../src/io/safetensors';

export type Layout = 'timm' | 'hf-vit' | 'hf-deit';
export const LAYOUTS: readonly Layout[] = ['timm', 'hf-vit', 'hf-deit'];
export const DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

/**
 * The small ViT most checkpoint tests write: 2 blocks, width 64 in one head (a head width of 64 is
 * what lets a loader infer the head count from the weights alone), 8×8 px in 4×4 patches, RGB.
 */
export function smallVitConfig(id2label: Record<string, string>): VitConfig {
  return {
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 1,
    intermediate_size: 96,
    image_size: 8,
    patch_size: 4,
    num_channels: 3,
    layer_norm_eps: 1e-6,
    id2label,
    distilled: false,
  };
}

/** mulberry32 normal-ish values: same seed, same checkpoint. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Random timm-named weights for `config`: every tensor perturbed (LayerNorm near 1, biases non-zero). */
export function randomTimmArrays(config: VitConfig, seed: number): NamedArrays {
  const rand = seededRandom(seed);
  const D = config.hidden_size;
  const I = config.intermediate_size;
  const C = config.num_channels;
  const p = config.patch_size;
  const L = Object.keys(config.id2label).length;
  const tokens = (config.image_size / p) ** 2 + 1 + (config.distilled ? 1 : 0);
  const out: NamedArrays = new Map();
  const put = (name: string, shape: number[], scale: number, offset = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(name, { shape, data: Float32Array.from({ length: n }, () => offset + scale * (2 * rand() - 1)) });
  };
  put('cls_token', [1, 1, D], 0.5);
  if (config.distilled) put('dist_token', [1, 1, D], 0.5);
  put('pos_embed', [1, tokens, D], 0.5);
  put('patch_embed.proj.weight', [D, C, p, p], 0.3);
  put('patch_embed.proj.bias', [D], 0.1);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const b = `blocks.${l}`;
    put(`${b}.norm1.weight`, [D], 0.2, 1);
    put(`${b}.norm1.bias`, [D], 0.1);
    put(`${b}.attn.qkv.weight`, [3 * D, D], 0.3);
    put(`${b}.attn.qkv.bias`, [3 * D], 0.1);
    put(`${b}.attn.proj.weight`, [D, D], 0.2);
    put(`${b}.attn.proj.bias`, [D], 0.1);
    put(`${b}.norm2.weight`, [D], 0.2, 1);
    put(`${b}.norm2.bias`, [D], 0.1);
    put(`${b}.mlp.fc1.weight`, [I, D], 0.2);
    put(`${b}.mlp.fc1.bias`, [I], 0.1);
    put(`${b}.mlp.fc2.weight`, [D, I], 0.2);
    put(`${b}.mlp.fc2.bias`, [D], 0.1);
  }
  put('norm.weight', [D], 0.2, 1);
  put('norm.bias', [D], 0.1);
  put('head.weight', [L, D], 0.5);
  put('head.bias', [L], 0.2);
  if (config.distilled) {
    put('head_dist.weight', [L, D], 0.5);
    put('head_dist.bias', [L], 0.2);
  }
  return out;
}

/** The same weights under one layout's names (q, k and v split for the Hugging Face layouts). */
export function renameTo(timm: NamedArrays, layout: Layout): NamedArrays {
  if (layout === 'timm') return new Map(timm);
  const p = layout === 'hf-deit' ? 'deit' : 'vit';
  const distilled = timm.has('dist_token');
  const top: Record<string, string> = {
    cls_token: `${p}.embeddings.cls_token`,
    dist_token: `${p}.embeddings.distillation_token`,
    pos_embed: `${p}.embeddings.position_embeddings`,
    'patch_embed.proj.weight': `${p}.embeddings.patch_embeddings.projection.weight`,
    'patch_embed.proj.bias': `${p}.embeddings.patch_embeddings.projection.bias`,
    'norm.weight': `${p}.layernorm.weight`,
    'norm.bias': `${p}.layernorm.bias`,
    'head.weight': layout === 'hf-deit' && distilled ? 'cls_classifier.weight' : 'classifier.weight',
    'head.bias': layout === 'hf-deit' && distilled ? 'cls_classifier.bias' : 'classifier.bias',
    'head_dist.weight': 'distillation_classifier.weight',
    'head_dist.bias': 'distillation_classifier.bias',
  };
  const inner: Record<string, string> = {
    norm1: 'layernorm_before',
    'attn.proj': 'attention.output.dense',
    norm2: 'layernorm_after',
    'mlp.fc1': 'intermediate.dense',
    'mlp.fc2': 'output.dense',
  };
  const out: NamedArrays = new Map();
  for (const [name, entry] of timm) {
    if (top[name]) {
      out.set(top[name], entry);
      continue;
    }
    const m = /^blocks\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
    if (!m) throw new Error(`helper: no ${layout} name for ${name}`);
    const [, l, part, kind] = m;
    const base = `${p}.encoder.layer.${l}`;
    if (part === 'attn.qkv') {
      const third = entry.data.length / 3;
      ['query', 'key', 'value'].forEach((q, i) => {
        out.set(`${base}.attention.attention.${q}.${kind}`, {
          shape: [entry.shape[0] / 3, ...entry.shape.slice(1)],
          data: entry.data.slice(i * third, (i + 1) * third),
        });
      });
    } else {
      out.set(`${base}.${inner[part]}.${kind}`, entry);
    }
  }
  if (layout === 'hf-vit') {
    const D = timm.get('cls_token')!.shape.at(-1)!;
    out.set('vit.pooler.dense.weight', { shape: [D, D], data: new Float32Array(D * D).fill(0.01) });
    out.set('vit.pooler.dense.bias', { shape: [D], data: new Float32Array(D) });
  }
  return out;
}

/** A safetensors file of `named` with every tensor stored as `dtype`. */
export function encodeCheckpoint(named: NamedArrays, dtype: SafetensorsDtype, metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const inputs: Record<string, SafetensorsTensorInput> = {};
  for (const [name, { shape, data }] of named) inputs[name] = { dtype, shape, data };
  return writeSafetensors(inputs, metadata);
}

/** A Hugging Face ViTConfig / DeiTConfig for `config`, as config.json holds it. */
export function hfConfigJson(config: VitConfig, layout: 'hf-vit' | 'hf-deit'): Record<string, unknown> {
  return {
    architectures: [
      layout === 'hf-deit' ? (config.distilled ? 'DeiTForImageClassificationWithTeacher' : 'DeiTForImageClassification') : 'ViTForImageClassification',
    ],
    model_type: layout === 'hf-deit' ? 'deit' : 'vit',
    hidden_size: config.hidden_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    intermediate_size: config.intermediate_size,
    hidden_act: 'gelu',
    layer_norm_eps: config.layer_norm_eps,
    image_size: config.image_size,
    patch_size: config.patch_size,
    num_channels: config.num_channels,
    qkv_bias: true,
    id2label: config.id2label,
    label2id: Object.fromEntries(Object.entries(config.id2label).map(([k, v]) => [v, Number(k)])),
  };
}

/** timm's config.json for a DeiT checkpoint on the hub (architecture and preprocessing, no widths). */
export function timmConfigJson(architecture: string, labels: number, inputSize: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architecture,
    num_classes: labels,
    num_features: 0,
    global_pool: 'token',
    pretrained_cfg: {
      tag: 'fb_in1k',
      custom_load: false,
      input_size: [3, inputSize, inputSize],
      fixed_input_size: true,
      interpolation: 'bicubic',
      crop_pct: 0.9,
      crop_mode: 'center',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      num_classes: labels,
      pool_size: null,
      first_conv: 'patch_embed.proj',
      classifier: 'head',
    },
    ...extra,
  };
}

/** Seeded pixels [S][S][C] in about [-2, 2], as nested arrays (the reference forward's input). */
export function randomPixels(config: VitConfig, seed: number): number[][][] {
  const rand = seededRandom(seed);
  const S = config.image_size;
  return Array.from({ length: S }, () => Array.from({ length: S }, () => Array.from({ length: config.num_channels }, () => 4 * rand() - 2)));
}

/** Inverse of renameTo: a parsed file's tensors back to timm names, for the reference forward. */
export function timmNamesOf(named: NamedArrays, layout: Layout): NamedArrays {
  if (layout === 'timm') return new Map(named);
  const p = layout === 'hf-deit' ? 'deit' : 'vit';
  const out: NamedArrays = new Map();
  const top: Record<string, string> = {
    [`${p}.embeddings.cls_token`]: 'cls_token',
    [`${p}.embeddings.distillation_token`]: 'dist_token',
    [`${p}.embeddings.position_embeddings`]: 'pos_embed',
    [`${p}.embeddings.patch_embeddings.projection.weight`]: 'patch_embed.proj.weight',
    [`${p}.embeddings.patch_embeddings.projection.bias`]: 'patch_embed.proj.bias',
    [`${p}.layernorm.weight`]: 'norm.weight',
    [`${p}.layernorm.bias`]: 'norm.bias',
    'classifier.weight': 'head.weight',
    'classifier.bias': 'head.bias',
    'cls_classifier.weight': 'head.weight',
    'cls_classifier.bias': 'head.bias',
    'distillation_classifier.weight': 'head_dist.weight',
    'distillation_classifier.bias': 'head_dist.bias',
  };
  const inner: Record<string, string> = {
    layernorm_before: 'norm1',
    'attention.output.dense': 'attn.proj',
    layernorm_after: 'norm2',
    'intermediate.dense': 'mlp.fc1',
    'output.dense': 'mlp.fc2',
  };
  const qkv = new Map<string, Record<string, { shape: number[]; data: Float32Array }>>();
  for (const [name, entry] of named) {
    if (top[name]) {
      out.set(top[name], entry);
      continue;
    }
    const m = new RegExp(`^${p}\\.encoder\\.layer\\.(\\d+)\\.(.+)\\.(weight|bias)$`).exec(name);
    if (!m) continue;
    const [, l, part, kind] = m;
    const q = /^attention\.attention\.(query|key|value)$/.exec(part);
    if (q) {
      const key = `blocks.${l}.attn.qkv.${kind}`;
      qkv.set(key, { ...qkv.get(key), [q[1]]: entry });
    } else {
      out.set(`blocks.${l}.${inner[part]}.${kind}`, entry);
    }
  }
  for (const [key, { query, key: k, value }] of qkv) {
    out.set(key, { shape: [query.shape[0] * 3, ...query.shape.slice(1)], data: Float32Array.from([...query.data, ...k.data, ...value.data]) });
  }
  return out;
}
