/**
 * FLOPs in the fvcore convention the token-reduction papers use (docs/METHODS.md#flops):
 * one multiply-add = 1 FLOP; linear = tokens·in·out (bias free); a batched matmul = the product of
 * its dims; LayerNorm = 5 per element; softmax, GELU, adds, gathers and sorts are not counted.
 *
 * Counted from the token counts a forward actually produced (or a schedule predicts), per layer
 * and per operation. A method's own work (ToMe's similarity matmul, ...) is reported apart as
 * `overhead` and is not part of `model`; `total` adds both.
 */
import type { Slot } from '../tokens/types';

export interface FlopDims {
  hidden: number; // D
  mlp: number; // intermediate size
  patches: number; // P, patch tokens
  patchInput: number; // C·p·p
  labels: number;
  heads: number;
  distilled: boolean;
}

/** Tokens entering a block, tokens leaving it, and where its reduction (if any) acted. */
export interface LayerTokens {
  nIn: number;
  nOut: number;
  slot: Slot | null;
  /** The method's own FLOPs at this layer (0 when none). */
  overhead?: number;
}

export interface BlockFlops {
  qkv: number;
  attnScores: number; // Q·Kᵀ
  attnValues: number; // P·V
  proj: number;
  mlp: number;
  layerNorm: number;
  /** the method's own work, apart from the model */
  overhead: number;
  model: number; // everything but overhead
}

export interface FlopReport {
  embed: number;
  blocks: BlockFlops[];
  head: number; // final LayerNorm + classifier(s)
  model: number;
  overhead: number;
  total: number;
}

export function blockFlops(D: number, mlpDim: number, t: LayerTokens): BlockFlops {
  const { nIn: N, nOut: M, slot } = t;
  const mlpAt = (n: number) => 2 * n * D * mlpDim;
  let f: Omit<BlockFlops, 'model' | 'overhead'>;
  switch (slot) {
    case null:
      if (N !== M) throw new Error(`a block without reduction cannot change the token count (${N} -> ${M})`);
      f = { qkv: 3 * N * D * D, attnScores: N * N * D, attnValues: N * N * D, proj: N * D * D, mlp: mlpAt(N), layerNorm: 10 * N * D };
      break;
    case 'afterAttention': // attention at N, MLP at M (ToMe, PiToMe, EViT, top-k)
      f = { qkv: 3 * N * D * D, attnScores: N * N * D, attnValues: N * N * D, proj: N * D * D, mlp: mlpAt(M), layerNorm: 5 * N * D + 5 * M * D };
      break;
    case 'insideAttention': // ATS: all queries and keys, the full Q·Kᵀ, only the M kept rows times V
      f = { qkv: 3 * N * D * D, attnScores: N * N * D, attnValues: M * N * D, proj: M * D * D, mlp: mlpAt(M), layerNorm: 5 * N * D + 5 * M * D };
      break;
    case 'beforeAttention': // MCTF one-step-ahead: q, k at N; v, P'·V, proj and MLP at M
      f = { qkv: 2 * N * D * D + M * D * D, attnScores: N * N * D, attnValues: M * M * D, proj: M * D * D, mlp: mlpAt(M), layerNorm: 5 * N * D + 5 * M * D };
      break;
  }
  const model = f.qkv + f.attnScores + f.attnValues + f.proj + f.mlp + f.layerNorm;
  return { ...f, overhead: t.overhead ?? 0, model };
}

export function countFlops(dims: FlopDims, layers: LayerTokens[]): FlopReport {
  const D = dims.hidden;
  for (let l = 1; l < layers.length; l++) {
    if (layers[l].nIn !== layers[l - 1].nOut) {
      throw new Error(`layer ${l} takes ${layers[l].nIn} tokens but layer ${l - 1} produced ${layers[l - 1].nOut}`);
    }
  }
  const embed = dims.patches * dims.patchInput * D;
  const blocks = layers.map((t) => blockFlops(D, dims.mlp, t));
  const nLast = layers.length ? layers[layers.length - 1].nOut : dims.patches + 1;
  const head = 5 * nLast * D + (dims.distilled ? 2 : 1) * D * dims.labels;
  const model = embed + blocks.reduce((a, b) => a + b.model, 0) + head;
  const overhead = blocks.reduce((a, b) => a + b.overhead, 0);
  return { embed, blocks, head, model, overhead, total: model + overhead };
}

/** The FLOP dimensions of a model configuration. */
export function flopDims(config: {
  hidden_size: number;
  intermediate_size: number;
  image_size: number;
  patch_size: number;
  num_channels: number;
  num_attention_heads: number;
  id2label: Record<string, string>;
  distilled?: boolean;
}): FlopDims {
  return {
    hidden: config.hidden_size,
    mlp: config.intermediate_size,
    patches: (config.image_size / config.patch_size) ** 2,
    patchInput: config.num_channels * config.patch_size ** 2,
    labels: Object.keys(config.id2label).length,
    heads: config.num_attention_heads,
    distilled: config.distilled === true,
  };
}
