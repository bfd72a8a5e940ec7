/**
 * A ViT/DeiT configuration read off the tensor shapes of a timm-named checkpoint, for checkpoints
 * whose config.json is missing or is not a Hugging Face ViTConfig (timm's config.json names an
 * architecture but no widths). Every number comes from one tensor:
 *
 *   hidden_size           cls_token            [1, 1, D]
 *   num_channels, patch   patch_embed.proj.weight [D, C, p, p]
 *   image_size            pos_embed            [1, 1 (+1) + (S/p)², D]   (S = image side)
 *   distilled             dist_token present   (DeiT distilled: a second token and head)
 *   num_hidden_layers     blocks.0 … blocks.L−1
 *   intermediate_size     blocks.0.mlp.fc1.weight [I, D]
 *   labels                head.weight          [labels, D]
 *
 * Two numbers are not in any shape and are assumed, each stated in a note the UI shows: the head
 * count (D / 64: every released ViT/DeiT uses 64-wide heads) and the LayerNorm epsilon (1e-6,
 * timm's and DeiT's). A checkpoint that does not fit throws 'shape-mismatch' naming the tensor.
 */
import { TokenScopeError } from '../errors';
import { parseConfig, type VitConfig } from '../model/config';
import type { NamedArrays } from '../model/weights';
import { IMAGENET_CLASS_COUNT, imagenetId2Label } from './imagenet-classes';

/** Width of one attention head in every released ViT and DeiT. */
export const HEAD_DIM = 64;
/** LayerNorm epsilon of timm's ViT and DeiT. */
export const TIMM_LAYER_NORM_EPS = 1e-6;

export interface InferredConfig {
  config: VitConfig;
  /** Plain-language statements of what was assumed or chosen, for the UI. */
  notes: string[];
}

export interface InferOptions {
  /** Class names, in class order, when the caller has them (timm config.json `label_names`). */
  labelNames?: readonly string[];
}

function mismatch(message: string, tensor?: string): never {
  throw new TokenScopeError('shape-mismatch', message, tensor ? { tensor } : undefined);
}

function shapeOf(named: NamedArrays, name: string, what: string): number[] {
  const entry = named.get(name);
  if (!entry) mismatch(`checkpoint is missing tensor '${name}' (${what}); cannot work out the model's shape without it`, name);
  return entry.shape;
}

/** The shape with leading 1s removed: [1, 1, 192] -> [192]. */
function squeezeLeading(shape: readonly number[]): number[] {
  let i = 0;
  while (i < shape.length - 1 && shape[i] === 1) i++;
  return shape.slice(i);
}

/** Infers the configuration of a timm-named checkpoint; see the module comment. */
export function inferConfig(named: NamedArrays, opts: InferOptions = {}): InferredConfig {
  const notes: string[] = [];

  const cls = squeezeLeading(shapeOf(named, 'cls_token', 'the class token, [1, 1, hidden]'));
  if (cls.length !== 1) mismatch(`tensor 'cls_token' has shape [${named.get('cls_token')!.shape}], expected [1, 1, hidden]`, 'cls_token');
  const D = cls[0];

  const kernel = shapeOf(named, 'patch_embed.proj.weight', 'the patch embedding, [hidden, channels, patch, patch]');
  if (kernel.length !== 4 || kernel[0] !== D || kernel[2] !== kernel[3]) {
    mismatch(`tensor 'patch_embed.proj.weight' has shape [${kernel}], expected [${D}, channels, patch, patch] (square patches)`, 'patch_embed.proj.weight');
  }
  const [, C, p] = kernel;

  const distilled = named.has('dist_token');
  const pos = squeezeLeading(shapeOf(named, 'pos_embed', 'the position embeddings, [1, tokens, hidden]'));
  if (pos.length !== 2 || pos[1] !== D) mismatch(`tensor 'pos_embed' has shape [${named.get('pos_embed')!.shape}], expected [1, tokens, ${D}]`, 'pos_embed');
  const special = distilled ? 2 : 1;
  const patches = pos[0] - special;
  const grid = Math.round(Math.sqrt(Math.max(patches, 0)));
  if (patches <= 0 || grid * grid !== patches) {
    mismatch(
      `tensor 'pos_embed' has ${pos[0]} positions; expected ${special} (class${distilled ? ' and distillation' : ''} token${distilled ? 's' : ''}) plus a square number of patches`,
      'pos_embed',
    );
  }

  const depth = blockCount(named);

  const fc1 = shapeOf(named, 'blocks.0.mlp.fc1.weight', 'the first MLP layer, [intermediate, hidden]');
  if (fc1.length !== 2 || fc1[1] !== D) mismatch(`tensor 'blocks.0.mlp.fc1.weight' has shape [${fc1}], expected [intermediate, ${D}]`, 'blocks.0.mlp.fc1.weight');

  const head = shapeOf(named, 'head.weight', 'the classifier, [labels, hidden]; a checkpoint without a classifier cannot predict');
  if (head.length !== 2 || head[1] !== D) mismatch(`tensor 'head.weight' has shape [${head}], expected [labels, ${D}]`, 'head.weight');
  const labels = head[0];

  const positive: [string, number, string][] = [
    ['cls_token', D, 'hidden size'],
    ['patch_embed.proj.weight', C, 'channel count'],
    ['patch_embed.proj.weight', p, 'patch size'],
    ['blocks.0.mlp.fc1.weight', fc1[0], 'MLP width'],
    ['head.weight', labels, 'class count'],
  ];
  for (const [tensor, value, what] of positive) {
    if (!(value > 0)) mismatch(`tensor '${tensor}' gives a ${what} of ${value}; it must be at least 1`, tensor);
  }
  if (D % HEAD_DIM !== 0) {
    mismatch(
      `hidden size ${D} is not a multiple of ${HEAD_DIM}, so the number of attention heads cannot be assumed; supply a config.json with num_attention_heads`,
      'cls_token',
    );
  }
  const heads = D / HEAD_DIM;
  notes.push(
    `Attention heads: ${heads}, assumed from hidden size ${D} ÷ ${HEAD_DIM} (released ViT and DeiT models use ${HEAD_DIM}-wide heads); the checkpoint does not record it.`,
  );
  notes.push(`LayerNorm epsilon: ${TIMM_LAYER_NORM_EPS}, assumed (timm's and DeiT's value); the checkpoint does not record it.`);

  let id2label: Record<string, string>;
  if (opts.labelNames && opts.labelNames.length === labels) {
    id2label = Object.fromEntries(opts.labelNames.map((n, i) => [String(i), String(n)]));
  } else if (labels === IMAGENET_CLASS_COUNT) {
    id2label = imagenetId2Label();
    notes.push('Class names: ImageNet-1k (the checkpoint has 1,000 classes and names none).');
  } else {
    id2label = Object.fromEntries(Array.from({ length: labels }, (_, i) => [String(i), `class ${i}`]));
    notes.push(`Class names: none in the checkpoint; its ${labels} classes are shown as "class 0" … "class ${labels - 1}".`);
  }
  if (distilled) notes.push('Distillation token found (DeiT distilled): the prediction averages the class-token and distillation-token heads.');

  const config = parseConfig({
    hidden_size: D,
    num_hidden_layers: depth,
    num_attention_heads: heads,
    intermediate_size: fc1[0],
    image_size: grid * p,
    patch_size: p,
    num_channels: C,
    layer_norm_eps: TIMM_LAYER_NORM_EPS,
    id2label,
    distilled,
  });
  return { config, notes };
}

/**
 * Number of transformer blocks: blocks 0 … L−1 must all be present. A gap throws naming the
 * first missing block (so a stray 'blocks.999…' name cannot make us loop over a huge depth).
 */
export function blockCount(named: NamedArrays): number {
  const indices = new Set<number>();
  for (const name of named.keys()) {
    const m = /^blocks\.(\d+)\./.exec(name);
    if (m) indices.add(Number(m[1]));
  }
  let depth = 0;
  while (indices.has(depth)) depth++;
  if (depth === 0 || depth !== indices.size) {
    mismatch(
      `checkpoint is missing tensor 'blocks.${depth}.norm1.weight' (transformer block ${depth}${depth === 0 ? '' : `; blocks 0 to ${depth - 1} are present`})`,
      `blocks.${depth}.norm1.weight`,
    );
  }
  return depth;
}
