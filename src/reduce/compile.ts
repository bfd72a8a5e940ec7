/**
 * Turns a parsed Plan into what the model runs: one hook per block, each bound to that layer's
 * parameters (ToMe's r schedule, PiToMe's margin and mode, ...), and the token count each layer
 * will produce where the schedule fixes it (every method but ATS).
 */
import { TokenScopeError } from '../errors';
import { numTokens, type VitConfig } from '../model/config';
import type { CompiledPlan } from '../model/run';
import type { LayerHook } from '../model/vit';
import { atsEffectiveTokens, type AtsLayerParams } from './ats';
import { atcNumClusters, atcOutputTokens, type AtcLayerParams } from './atc';
import { LINKAGES } from './atc-clustering';
import { pptEffectiveR, type PptLayerParams } from './ppt';
import { GTP_GRAPHS, gtpGraph, gtpGraphFlops, gtpKeptPatches, semanticRank, type GtpGraphParams, type GtpLayerParams } from './gtp';
import { sparsityRank } from '../model/ops';
import { diffrateCounts, diffrateKeptNumbers, type DiffrateLayerParams } from './diffrate-schedules';
import { evitLeftTokens, type EvitLayerParams } from './evit';
import { mctfLayerR, type MctfLayerParams, type MctfPooling } from './mctf';
import { pitomeLayerParams, pitomeR, type PitomeLayerParams } from './pitome';
import type { Plan, Segment } from './plan';
import { REDUCERS } from './registry';
import { parseR, type TomeLayerParams } from './tome';
import type { Slot } from '../tokens/types';
import type { Dims, MethodId, Reducer } from './types';

/** One reducing layer, bound to its parameters. */
export interface CompiledLayer {
  layer: number;
  method: MethodId;
  slot: Slot;
  params: unknown;
  /** Tokens out for nIn tokens in, or null where it depends on the image (ATS). */
  outputTokens(nIn: number): number | null;
  /** The most tokens out for nIn tokens in (equals outputTokens where that is fixed). */
  maxOutputTokens(nIn: number): number;
  overheadFlops(nIn: number): number;
}

export interface Compiled extends CompiledPlan {
  /** One entry per block; null = unreduced. */
  layers: (CompiledLayer | null)[];
}

interface LayerContext {
  segment: Segment;
  /** position of this layer among the segment's layers, and their count */
  index: number;
  count: number;
  layer: number;
  config: VitConfig;
  /** tokens that never merge or drop: CLS (+ distillation token) */
  protectedTokens: number;
}

/** Per method: the layer's parameter record and its token-count rule. */
interface Binder<P> {
  params(ctx: LayerContext): P;
  outputTokens(nIn: number, p: P, ctx: LayerContext): number | null;
  /** For data-dependent counts: the most tokens the layer can keep. */
  maxOutputTokens?(nIn: number, p: P, ctx: LayerContext): number;
}

const num = (s: Segment, name: string) => s.params[name] as number;
const flag = (s: Segment, name: string) => s.params[name] as boolean;

const tomeBinder: Binder<TomeLayerParams> = {
  // The (r, inflect) schedule spans the segment's layers, as parse_r spans the model's.
  params: ({ segment, index, count }) => ({ r: parseR(count, { r: num(segment, 'r'), inflect: num(segment, 'inflect') })[index] }),
  outputTokens: (n, { r }, { protectedTokens }) => n - Math.max(0, Math.min(r, Math.floor((n - protectedTokens) / 2))),
};

const pitomeBinder: Binder<PitomeLayerParams> = {
  params: ({ segment, layer, config }) => pitomeLayerParams(layer, config.num_hidden_layers, num(segment, 'ratio'), num(segment, 'alpha')),
  outputTokens: (n, p) => n - pitomeR(n - 1, p.ratio),
};

const evitBinder = (fuse: boolean): Binder<EvitLayerParams> => ({
  params: ({ segment }) => ({ keepRate: num(segment, 'keep'), fuse: fuse && flag(segment, 'fuse') }),
  outputTokens: (n, p, { protectedTokens }) => {
    const left = evitLeftTokens(n, { keepRate: p.keepRate, protectedCount: protectedTokens });
    return left === n - protectedTokens ? n : protectedTokens + left + (p.fuse ? 1 : 0);
  },
});

const atsBinder: Binder<AtsLayerParams> = {
  params: ({ segment, config }) => {
    const k = num(segment, 'k');
    const nRef = (config.image_size / config.patch_size) ** 2 + 1;
    return k === 0 ? { nTokens: nRef, nRef } : { nTokens: k, nRef, paperKCap: true };
  },
  outputTokens: () => null,
  // At batch 1 the least significant token is never sampled (N - 1), and a cap keeps at most K.
  maxOutputTokens: (n, p) => (n <= 2 ? n : Math.min(n - 1, atsEffectiveTokens(p.nTokens, n))),
};

const mctfBinder: Binder<MctfLayerParams> = {
  params: ({ segment }) => ({
    r: num(segment, 'r'),
    tauSim: num(segment, 'tau_sim'),
    tauInfo: num(segment, 'tau_info'),
    tauSize: num(segment, 'tau_size'),
    bidirection: flag(segment, 'bidir'),
    oneStepAhead: true,
    pooling: num(segment, 'pool') as MctfPooling,
  }),
  outputTokens: (n, p, { protectedTokens }) => n - Math.max(0, mctfLayerR(n, p.r, protectedTokens)),
};

const diffrateBinder: Binder<DiffrateLayerParams> = {
  // Kept numbers are absolute and per block: the block index picks the schedule entry.
  params: ({ segment, layer, config }) => {
    const { prune, merge } = diffrateKeptNumbers(num(segment, 'target_flops'), {
      depth: config.num_hidden_layers,
      tokens: numTokens(config),
      hidden: config.hidden_size,
    });
    return { pruneKept: prune[layer], mergeKept: merge[layer] };
  },
  outputTokens: (n, p) => diffrateCounts(n, p).nOut,
};

const atcBinder: Binder<AtcLayerParams> = {
  // κ^(i+1) of the patch count at the segment's i-th layer (the official reduction_loc index)
  params: ({ segment, index, config, protectedTokens }) => ({
    numClusters: atcNumClusters(numTokens(config) - protectedTokens, num(segment, 'keep'), index),
    linkage: LINKAGES[num(segment, 'linkage')],
    prop: flag(segment, 'prop'),
  }),
  outputTokens: (n, p, { protectedTokens }) => (p.numClusters <= 0 ? n : atcOutputTokens(n, p.numClusters, protectedTokens)),
};

const pptBinder: Binder<PptLayerParams> = {
  params: ({ segment }) => ({ r: num(segment, 'r'), threshold: num(segment, 'threshold'), prop: flag(segment, 'prop') }),
  outputTokens: (n, p) => n - pptEffectiveR(n, p.r),
};

const gtpBinder: Binder<GtpLayerParams> = {
  params: ({ segment, layer, config }) => {
    const t = numTokens(config) - 1;
    const first = layer === segment.layers[0];
    return {
      p: num(segment, 'p'),
      alpha: num(segment, 'alpha'),
      scale: flag(segment, 'scale'),
      sparsity: num(segment, 'sparsity'),
      graphFlops: first ? gtpGraphFlops(t, config.hidden_size, GTP_GRAPHS[num(segment, 'graph')]) : 0,
    };
  },
  outputTokens: (n, p) => 1 + gtpKeptPatches(n - 1, p.p),
};

const BINDERS: Record<MethodId, Binder<never>> = {
  tome: tomeBinder,
  pitome: pitomeBinder,
  evit: evitBinder(true),
  topk: evitBinder(false),
  ats: atsBinder,
  mctf: mctfBinder,
  diffrate: diffrateBinder,
  atc: atcBinder,
  ppt: pptBinder,
  gtp: gtpBinder,
} as Record<MethodId, Binder<never>>;

/** Methods whose official code has no distillation-token protection. */
const NO_DISTILL_SUPPORT: MethodId[] = ['pitome', 'ats', 'mctf', 'diffrate', 'atc', 'ppt', 'gtp'];

export function compilePlan(plan: Plan, config: VitConfig): Compiled {
  const depth = config.num_hidden_layers;
  if (plan.depth !== depth) {
    throw new TokenScopeError('plan-invalid', `the plan was parsed for ${plan.depth} blocks, the model has ${depth}`);
  }
  const dims: Dims = { hidden: config.hidden_size, heads: config.num_attention_heads };
  const protectedTokens = config.distilled ? 2 : 1;
  const hooks: (LayerHook | null)[] = Array(depth).fill(null);
  const layers: (CompiledLayer | null)[] = Array(depth).fill(null);
  let propAttn = false;
  for (const segment of plan.segments) {
    if (config.distilled && segment.method === 'gtp') {
      throw new TokenScopeError(
        'plan-invalid',
        'gtp cannot run on a model with a distillation token: its official code builds the graph over every token after the class token, so the distillation token would be taken for a patch (and propagated away); use tome, evit or topk',
      );
    }
    if (config.distilled && NO_DISTILL_SUPPORT.includes(segment.method)) {
      throw new TokenScopeError(
        'plan-invalid',
        `${segment.method} cannot run on a model with a distillation token: its official code would merge or drop that token; use tome, evit or topk`,
      );
    }
    if ((segment.method === 'tome' || segment.method === 'mctf') && flag(segment, 'prop')) propAttn = true;
    // DiffRate's attention is always proportional (its sizes are similarity-weighted)
    if (segment.method === 'diffrate') propAttn = true;
    if ((segment.method === 'atc' || segment.method === 'ppt') && flag(segment, 'prop')) propAttn = true;
    // GTP's token scales are sizes that enter the attention as log s
    if (segment.method === 'gtp' && flag(segment, 'scale')) propAttn = true;
    const reducer = REDUCERS[segment.method] as unknown as Reducer<unknown>;
    const binder = BINDERS[segment.method] as unknown as Binder<unknown>;
    segment.layers.forEach((layer, index) => {
      const ctx: LayerContext = { segment, index, count: segment.layers.length, layer, config, protectedTokens };
      const params = binder.params(ctx);
      layers[layer] = {
        layer,
        method: segment.method,
        slot: reducer.slot,
        params,
        outputTokens: (n) => binder.outputTokens(n, params, ctx),
        maxOutputTokens: (n) => binder.outputTokens(n, params, ctx) ?? binder.maxOutputTokens!(n, params, ctx),
        overheadFlops: (n) => reducer.overheadFlops(n, dims, params),
      };
      hooks[layer] = {
        method: segment.method,
        slot: reducer.slot,
        needs: reducer.needs,
        merges: reducer.kind === 'merge',
        perImage: segment.method === 'ats',
        reduce: (input) => reducer.reduce(input, params),
        reduceDeferred: reducer.reduceDeferred ? (input) => reducer.reduceDeferred!(input, params) : undefined,
      };
      if (segment.method === 'gtp') hooks[layer]!.attentionSparsity = num(segment, 'sparsity');
    });
  }
  const compiled: Compiled = { hooks, propAttn, layers };
  const gtpSegment = plan.segments.find((s) => s.method === 'gtp');
  if (gtpSegment) {
    const graph: GtpGraphParams = { graph: GTP_GRAPHS[num(gtpSegment, 'graph')], neighbours: num(gtpSegment, 'neighbours') };
    checkGtp(compiled, plan, graph, config);
    compiled.initCarried = (embedded) => gtpGraph(embedded, graph);
  }
  return compiled;
}

/**
 * Refuses GTP settings that the official code would turn into an error or a degenerate model on
 * this model's token counts, naming the setting: a k-NN threshold with no k-th value, a block left
 * with no patch (p ≥ patches), an attention sparsity whose k is 0 (torch.kthvalue raises).
 */
function checkGtp(compiled: Compiled, plan: Plan, graph: GtpGraphParams, config: VitConfig): void {
  const tokens = numTokens(config);
  const t = tokens - 1;
  const where = (s: Segment) => `gtp:p=${num(s, 'p')},… on layers ${s.layers.join('/')}`;
  if (graph.graph !== 'spatial') {
    const k = semanticRank(tokens, graph.neighbours);
    if (graph.neighbours < 1 || k < 1) {
      throw new TokenScopeError(
        'param-out-of-range',
        `'neighbours=${graph.neighbours}' in gtp: a ${graph.graph} graph over ${t} patches needs 1 ≤ neighbours ≤ ${t - 1} (0 leaves a token without neighbours: its normalised row is NaN)`,
      );
    }
  }
  const counts = predictTokens(compiled, tokens)!;
  for (const segment of plan.segments) {
    for (const layer of segment.layers) {
      const n = counts[layer];
      const p = num(segment, 'p');
      if (p >= n - 1) {
        throw new TokenScopeError(
          'param-out-of-range',
          `'p=${p}' in ${where(segment)}: block ${layer} receives ${n - 1} patch tokens, and p ≥ that propagates every one (the official slicing keeps none); lower p or use fewer layers`,
        );
      }
      const sparsity = num(segment, 'sparsity');
      if (sparsity < 1 && sparsityRank(n, sparsity) < 1) {
        throw new TokenScopeError(
          'param-out-of-range',
          `'sparsity=${sparsity}' in ${where(segment)}: with ${n} tokens at block ${layer}, ⌊${n}²·(1 − ${sparsity})⌋ = 0 has no k-th smallest probability (the official torch.kthvalue raises); lower the sparsity or use 1`,
        );
      }
    }
  }
}

/** Tokens entering each block and leaving the last, as the schedule fixes them; null if any layer is data-dependent. */
export function predictTokens(compiled: Compiled, tokens: number): number[] | null {
  const counts = [tokens];
  for (const layer of compiled.layers) {
    const n = counts[counts.length - 1];
    const out = layer ? layer.outputTokens(n) : n;
    if (out === null) return null;
    counts.push(out);
  }
  return counts;
}
