/**
 * Model configuration with Hugging Face ViTConfig field names (a file format: names kept verbatim).
 */
import { TokenScopeError } from '../errors';

export interface VitConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  image_size: number;
  patch_size: number;
  num_channels: number;
  layer_norm_eps: number;
  /** class index (as a string key) -> label */
  id2label: Record<string, string>;
  /** DeiT distilled models carry a distillation token at position 1 and a second head. */
  distilled?: boolean;
  /** Preprocessing: per-channel mean and std applied to pixels in [0, 1]. */
  image_mean?: number[];
  image_std?: number[];
}

export const numPatches = (c: VitConfig): number => (c.image_size / c.patch_size) ** 2;
/** Tokens entering block 0: patches + CLS (+ distillation token). */
export const numTokens = (c: VitConfig): number => numPatches(c) + 1 + (c.distilled ? 1 : 0);
export const headDim = (c: VitConfig): number => c.hidden_size / c.num_attention_heads;
export const numLabels = (c: VitConfig): number => Object.keys(c.id2label).length;

/** Reference architectures (224 px, ImageNet-1k heads) for FLOP counts and benchmarks. */
export const ARCHS: Record<string, Omit<VitConfig, 'id2label'> & { labels: number }> = {
  'deit-t': arch(192, 3),
  'deit-s': arch(384, 6),
  'deit-b': arch(768, 12),
  'vit-b': arch(768, 12),
};

function arch(width: number, heads: number) {
  return {
    hidden_size: width,
    num_hidden_layers: 12,
    num_attention_heads: heads,
    intermediate_size: 4 * width,
    image_size: 224,
    patch_size: 16,
    num_channels: 3,
    layer_norm_eps: 1e-6,
    labels: 1000,
  };
}

export function archConfig(name: string): VitConfig {
  const a = ARCHS[name];
  if (!a) {
    throw new TokenScopeError('param-out-of-range', `unknown architecture '${name}'; known: ${Object.keys(ARCHS).join(', ')}`);
  }
  const { labels, ...rest } = a;
  return { ...rest, id2label: Object.fromEntries(Array.from({ length: labels }, (_, i) => [String(i), `class ${i}`])) };
}

/** Validates a parsed config.json (unknown extra fields are ignored). */
export function parseConfig(raw: unknown): VitConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TokenScopeError('shape-mismatch', 'config.json must be a JSON object');
  }
  const r = raw as Record<string, unknown>;
  const int = (key: string, fallback?: number): number => {
    const v = r[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new TokenScopeError('shape-mismatch', `config.json: '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  if (hidden % heads !== 0) {
    throw new TokenScopeError('shape-mismatch', `config.json: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
  }
  const imageSize = int('image_size');
  const patch = int('patch_size');
  if (imageSize % patch !== 0) {
    throw new TokenScopeError('shape-mismatch', `config.json: image_size ${imageSize} is not a multiple of patch_size ${patch}`);
  }
  const eps = r.layer_norm_eps ?? 1e-12; // Hugging Face's ViTConfig default
  if (typeof eps !== 'number' || !(eps > 0)) {
    throw new TokenScopeError('shape-mismatch', `config.json: layer_norm_eps must be a positive number, got ${JSON.stringify(eps)}`);
  }
  const channels = int('num_channels', 3);
  const labels = r.id2label;
  let id2label: Record<string, string>;
  if (labels && typeof labels === 'object' && !Array.isArray(labels)) {
    id2label = Object.fromEntries(Object.entries(labels as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  } else {
    const n = int('num_labels', 1000);
    id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
  }
  const vec = (key: string): number[] | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    const arr = typeof v === 'number' ? Array(channels).fill(v) : v;
    if (!Array.isArray(arr) || arr.length !== channels || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new TokenScopeError('shape-mismatch', `config.json: '${key}' must be ${channels} finite numbers`);
    }
    return arr as number[];
  };
  return {
    hidden_size: hidden,
    num_hidden_layers: int('num_hidden_layers'),
    num_attention_heads: heads,
    intermediate_size: int('intermediate_size'),
    image_size: imageSize,
    patch_size: patch,
    num_channels: channels,
    layer_norm_eps: eps,
    id2label,
    distilled: r.distilled === true,
    image_mean: vec('image_mean'),
    image_std: vec('image_std'),
  };
}
