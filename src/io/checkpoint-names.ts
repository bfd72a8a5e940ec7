/**
 * Checkpoint layouts, recognised by telltale keys and renamed at the loading boundary to the timm
 * names our model reads (model/weights.ts). The model never learns where its weights came from.
 *
 *   timm                        Hugging Face ViT (`vit.`) / DeiT distilled (`deit.`)
 *   cls_token [1,1,D]           {p}.embeddings.cls_token
 *   dist_token [1,1,D]          deit.embeddings.distillation_token
 *   pos_embed [1,N,D]           {p}.embeddings.position_embeddings
 *   patch_embed.proj.*          {p}.embeddings.patch_embeddings.projection.*
 *   blocks.L.norm1.*            {p}.encoder.layer.L.layernorm_before.*
 *   blocks.L.attn.qkv.*         {p}.encoder.layer.L.attention.attention.{query,key,value}.*  (rows q|k|v)
 *   blocks.L.attn.proj.*        {p}.encoder.layer.L.attention.output.dense.*
 *   blocks.L.norm2.*            {p}.encoder.layer.L.layernorm_after.*
 *   blocks.L.mlp.fc1.*          {p}.encoder.layer.L.intermediate.dense.*
 *   blocks.L.mlp.fc2.*          {p}.encoder.layer.L.output.dense.*
 *   norm.*                      {p}.layernorm.*
 *   head.*                      classifier.*  (DeiT distilled: cls_classifier.*)
 *   head_dist.*                 distillation_classifier.*
 */
import { TokenScopeError } from '../errors';
import type { NamedArrays } from '../model/weights';

export type CheckpointLayout = 'timm' | 'hf-vit' | 'hf-deit';

export function detectLayout(names: Iterable<string>): CheckpointLayout {
  const all = [...names];
  if (all.some((n) => n.startsWith('deit.'))) return 'hf-deit';
  if (all.some((n) => n.startsWith('vit.'))) return 'hf-vit';
  if (all.includes('cls_token') || all.some((n) => n.startsWith('blocks.'))) return 'timm';
  throw new TokenScopeError(
    'shape-mismatch',
    `not a ViT/DeiT checkpoint: expected 'vit.*', 'deit.*' (Hugging Face) or 'cls_token'/'blocks.*' (timm) tensor names; found ${all.slice(0, 5).join(', ')}${all.length > 5 ? ', …' : ''}`,
  );
}

const HF_BLOCK_RENAMES: [string, string][] = [
  ['layernorm_before', 'norm1'],
  ['attention.output.dense', 'attn.proj'],
  ['layernorm_after', 'norm2'],
  ['intermediate.dense', 'mlp.fc1'],
  ['output.dense', 'mlp.fc2'],
];

const HF_TOP_RENAMES = (p: string): [string, string][] => [
  [`${p}.embeddings.cls_token`, 'cls_token'],
  [`${p}.embeddings.distillation_token`, 'dist_token'],
  [`${p}.embeddings.position_embeddings`, 'pos_embed'],
  [`${p}.embeddings.patch_embeddings.projection.weight`, 'patch_embed.proj.weight'],
  [`${p}.embeddings.patch_embeddings.projection.bias`, 'patch_embed.proj.bias'],
  [`${p}.layernorm.weight`, 'norm.weight'],
  [`${p}.layernorm.bias`, 'norm.bias'],
  ['classifier.weight', 'head.weight'],
  ['classifier.bias', 'head.bias'],
  ['cls_classifier.weight', 'head.weight'],
  ['cls_classifier.bias', 'head.bias'],
  ['distillation_classifier.weight', 'head_dist.weight'],
  ['distillation_classifier.bias', 'head_dist.bias'],
];

/** Renames any supported layout to timm names, fusing Hugging Face q/k/v into one qkv tensor. */
export function toTimmNames(named: NamedArrays): NamedArrays {
  const layout = detectLayout(named.keys());
  if (layout === 'timm') return named;
  const prefix = layout === 'hf-deit' ? 'deit' : 'vit';
  const out: NamedArrays = new Map();
  const top = new Map(HF_TOP_RENAMES(prefix));
  const qkvParts = new Map<string, Partial<Record<'query' | 'key' | 'value', { shape: number[]; data: Float32Array }>>>();
  const layerRe = new RegExp(`^${prefix}\\.encoder\\.layer\\.(\\d+)\\.(.+)\\.(weight|bias)$`);
  for (const [name, entry] of named) {
    const renamed = top.get(name);
    if (renamed) {
      out.set(renamed, entry);
      continue;
    }
    const m = layerRe.exec(name);
    if (!m) continue; // pooler and other heads we do not use
    const [, layer, inner, kind] = m;
    const qkv = /^attention\.attention\.(query|key|value)$/.exec(inner);
    if (qkv) {
      const key = `blocks.${layer}.attn.qkv.${kind}`;
      const parts = qkvParts.get(key) ?? {};
      parts[qkv[1] as 'query' | 'key' | 'value'] = entry;
      qkvParts.set(key, parts);
      continue;
    }
    const rename = HF_BLOCK_RENAMES.find(([hf]) => hf === inner);
    if (rename) out.set(`blocks.${layer}.${rename[1]}.${kind}`, entry);
  }
  for (const [key, parts] of qkvParts) {
    const { query, key: k, value } = parts;
    if (!query || !k || !value) {
      const missing = (['query', 'key', 'value'] as const).filter((p) => !parts[p]);
      throw new TokenScopeError('shape-mismatch', `checkpoint has an incomplete attention at '${key}': missing ${missing.join(', ')}`);
    }
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
    if (!same(k.shape, query.shape) || !same(value.shape, query.shape) || query.shape.length === 0) {
      throw new TokenScopeError(
        'shape-mismatch',
        `checkpoint attention at '${key}' has query, key and value of shapes [${query.shape}], [${k.shape}], [${value.shape}]; they must be equal`,
      );
    }
    const data = new Float32Array(query.data.length * 3);
    data.set(query.data, 0);
    data.set(k.data, query.data.length);
    data.set(value.data, 2 * query.data.length);
    out.set(key, { shape: [query.shape[0] * 3, ...query.shape.slice(1)], data });
  }
  return out;
}

/** timm names -> Hugging Face ViT names (`vit.` prefix), splitting qkv. Used to save our own model. */
export function timmToHfVit(named: NamedArrays): NamedArrays {
  const out: NamedArrays = new Map();
  const topInverse = new Map(
    HF_TOP_RENAMES('vit')
      .filter(([hf]) => !hf.startsWith('cls_classifier') && !hf.startsWith('distillation'))
      .map(([hf, t]) => [t, hf]),
  );
  for (const [name, entry] of named) {
    const top = topInverse.get(name);
    if (top) {
      out.set(top, entry);
      continue;
    }
    const m = /^blocks\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
    if (!m) throw new TokenScopeError('shape-mismatch', `no Hugging Face ViT name for tensor '${name}'`);
    const [, layer, inner, kind] = m;
    const base = `vit.encoder.layer.${layer}`;
    if (inner === 'attn.qkv') {
      const third = entry.data.length / 3;
      (['query', 'key', 'value'] as const).forEach((part, i) => {
        out.set(`${base}.attention.attention.${part}.${kind}`, {
          shape: [entry.shape[0] / 3, ...entry.shape.slice(1)],
          data: entry.data.slice(i * third, (i + 1) * third),
        });
      });
      continue;
    }
    const rename = HF_BLOCK_RENAMES.find(([, t]) => t === inner);
    if (!rename) throw new TokenScopeError('shape-mismatch', `no Hugging Face ViT name for tensor '${name}'`);
    out.set(`${base}.${rename[0]}.${kind}`, entry);
  }
  return out;
}
