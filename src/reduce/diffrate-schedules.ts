/**
 * DiffRate's published schedules (compression_rate.json of OpenGVLab/DiffRate@91ae3e3) and the rules
 * that turn them into per-block kept numbers for a model, plus DiffRate's own FLOP counter. Plain
 * data and arithmetic: the plan grammar reads it without TF.js. docs/METHODS.md#diffrate.
 */
import { TokenScopeError } from '../errors';

export interface DiffrateLayerParams {
  /** prune_kept_num: tokens kept after pruning, CLS included. */
  pruneKept: number;
  /** merge_kept_num: tokens kept after merging, CLS included. */
  mergeKept: number;
}

/** One published schedule: the model it was searched for and its per-block kept numbers. */
export interface DiffrateSchedule {
  model: 'ViT-T-DeiT' | 'ViT-S-DeiT';
  /** The compression_rate.json key: target GFLOPs as Python writes the float. */
  target: string;
  prune: number[];
  merge: number[];
}

const T = 'ViT-T-DeiT';
const S = 'ViT-S-DeiT';
const list = (s: string) => s.split(',').map(Number);

/** The published DeiT-T and DeiT-S schedules (compression_rate.json at 91ae3e3), blocks 0..11. */
export const DIFFRATE_SCHEDULES: DiffrateSchedule[] = [
  { model: T, target: '0.6', prune: list('197,196,180,157,130,107,86,73,63,51,40,3'), merge: list('197,187,167,139,114,90,76,66,57,45,37,3') },
  { model: T, target: '0.7', prune: list('197,196,194,180,150,123,98,82,68,60,52,3'), merge: list('197,196,192,158,133,103,88,72,64,58,49,3') },
  { model: T, target: '0.8', prune: list('197,197,196,186,166,147,117,103,92,80,74,3'), merge: list('197,196,190,172,154,125,107,96,84,78,70,3') },
  { model: T, target: '0.9', prune: list('197,197,196,190,182,166,141,125,113,105,99,3'), merge: list('197,196,194,188,172,147,129,115,107,103,96,3') },
  { model: T, target: '1.0', prune: list('197,197,196,194,188,184,178,164,156,137,129,21'), merge: list('197,197,196,190,186,154,148,156,145,135,125,21') },
  { model: S, target: '2.3', prune: list('197,192,168,143,121,105,92,74,62,45,33,3'), merge: list('197,180,156,127,109,98,80,66,52,37,31,3') },
  { model: S, target: '2.5', prune: list('197,192,174,156,131,115,111,99,76,50,39,3'), merge: list('197,186,160,133,119,107,96,82,66,43,37,3') },
  { model: S, target: '2.7', prune: list('197,196,182,160,141,127,115,105,88,66,49,3'), merge: list('197,188,170,147,131,119,109,96,76,54,45,3') },
  { model: S, target: '2.9', prune: list('197,196,190,168,150,139,129,117,99,78,58,3'), merge: list('197,194,176,156,141,133,121,107,88,64,56,3') },
  { model: S, target: '3.1', prune: list('197,197,194,180,160,147,137,129,115,92,76,3'), merge: list('197,196,186,164,150,141,133,121,103,78,68,3') },
];

/** The targets a plan may name (`target_flops`), as numbers. */
export const DIFFRATE_TARGETS = DIFFRATE_SCHEDULES.map((s) => Number(s.target));

/** The template of the derived schedule (target_flops=0): the README's headline DeiT-S 2.9. */
export const DIFFRATE_DEFAULT_TEMPLATE = '2.9';

/** The geometry the published schedules were searched for: 12 blocks, 196 patches + CLS. */
const DEIT_DEPTH = 12;
const DEIT_TOKENS = 197;
const WIDTH_OF: Record<DiffrateSchedule['model'], number> = { 'ViT-T-DeiT': 192, 'ViT-S-DeiT': 384 };

export function diffrateSchedule(target: number): DiffrateSchedule | undefined {
  return DIFFRATE_SCHEDULES.find((s) => Number(s.target) === target);
}

/**
 * Per-block kept numbers for a model (docs/METHODS.md#diffrate):
 * - on the published geometry (12 blocks, 197 tokens) a nonzero `target` must be published for the
 *   model's width (DeiT-T 192: 0.6–1.0, DeiT-S 384: 2.3–3.1) and is used verbatim;
 * - anywhere else, and for target 0, the schedule is derived from a template (the named one, or
 *   DeiT-S 2.9): block l reads template block j = round(11·l/(L−1)) and keeps
 *   max(2, 1 + round((kept_j − 1) · (N0 − 1)/196)) tokens, i.e. the same fraction of the patch tokens.
 *   On DeiT geometry this reproduces the template exactly.
 * Throws 'plan-invalid' naming the choices when the target is not published for this model.
 */
export function diffrateKeptNumbers(
  target: number,
  model: { depth: number; tokens: number; hidden: number },
): { prune: number[]; merge: number[]; derived: boolean; template: DiffrateSchedule } {
  const { depth, tokens, hidden } = model;
  const named = target === 0 ? diffrateSchedule(Number(DIFFRATE_DEFAULT_TEMPLATE))! : diffrateSchedule(target);
  if (!named) {
    throw new TokenScopeError(
      'plan-invalid',
      `diffrate 'target_flops=${target}': DiffRate publishes schedules for DeiT-T (${targetsOf(T)}) and DeiT-S (${targetsOf(S)}) only; leave target_flops out (0) for the schedule derived from DeiT-S 2.9`,
    );
  }
  const deitGeometry = depth === DEIT_DEPTH && tokens === DEIT_TOKENS;
  if (deitGeometry && target !== 0) {
    if (WIDTH_OF[named.model] !== hidden) {
      const own = (Object.keys(WIDTH_OF) as DiffrateSchedule['model'][]).find((m) => WIDTH_OF[m] === hidden);
      throw new TokenScopeError(
        'plan-invalid',
        `diffrate 'target_flops=${target}' is the published ${named.model} schedule (width ${WIDTH_OF[named.model]}), but this 12-block model is ${hidden} wide` +
          (own ? `; its published targets are ${targetsOf(own)}` : '; DiffRate publishes no schedule for this width: use target_flops=0 (derived)'),
      );
    }
    return { prune: named.prune, merge: named.merge, derived: false, template: named };
  }
  const derive = (kept: number[]) =>
    Array.from({ length: depth }, (_, l) => {
      const j = depth === 1 ? 0 : Math.round((11 * l) / (depth - 1));
      // at least CLS and one token: with M = 1 the only destination is the blocked CLS
      return Math.max(2, 1 + Math.round(((kept[j] - 1) * (tokens - 1)) / (DEIT_TOKENS - 1)));
    });
  return { prune: derive(named.prune), merge: derive(named.merge), derived: !deitGeometry || target === 0, template: named };
}

function targetsOf(model: DiffrateSchedule['model']): string {
  return DIFFRATE_SCHEDULES.filter((s) => s.model === model)
    .map((s) => s.target)
    .join(', ');
}

/** Tokens after pruning and after the block, for N tokens in. */
export function diffrateCounts(n: number, { pruneKept, mergeKept }: DiffrateLayerParams): { nPruned: number; merges: boolean; nOut: number } {
  const nPruned = Math.min(n, pruneKept);
  const merges = mergeKept < pruneKept && mergeKept < nPruned;
  return { nPruned, merges, nOut: Math.min(n, pruneKept, mergeKept) };
}

/** DiffRate's own analytic counter (deit.py calculate_flop_inference), in FLOPs, for tokens entering each block. */
export function diffrateOfficialFlops(tokensIn: number[], tokensOut: number[], hidden: number): number {
  const f = Math.fround;
  let flops = f(197 * hidden * 768);
  tokensIn.forEach((nIn, l) => {
    flops = f(flops + f(4 * nIn * hidden * hidden) + f(2 * nIn * nIn * hidden) + f(8 * tokensOut[l] * hidden * hidden));
  });
  return f(flops + 1000 * hidden);
}
