/**
 * Sweeps: each method's main parameter over a few values, and the equal-budget solver that picks,
 * per method, the parameter landing closest to a GFLOPs target without exceeding it.
 *
 * The values scale with the model so that the same sweep is meaningful on DeiT (197 tokens, 12
 * blocks) and on the bundled 7×7-patch model: ToMe/MCTF r as fractions of (N0 − 1)/depth — the r
 * that would merge every patch away by the last block — PiToMe keep ratios, EViT/top-k keep rates,
 * and ATS's cap on sampled tokens (0 = the official adaptive count, no cap).
 */
import { numTokens, type VitConfig } from '../model/config';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import type { MethodId } from '../reduce/types';
import { scheduledFlops } from './plan-flops';
import { DIFFRATE_SCHEDULES, diffrateKeptNumbers } from '../reduce/diffrate-schedules';

export interface SweepPoint {
  method: MethodId;
  /** The swept parameter and its value. */
  param: string;
  value: number;
  plan: string;
}

function rValues(config: VitConfig): number[] {
  const full = (numTokens(config) - 1) / config.num_hidden_layers;
  return [...new Set([0.25, 0.5, 0.75, 1].map((f) => Math.max(1, Math.round(f * full))))];
}

/**
 * DiffRate's schedules usable on `config`, most tokens first: on DeiT-T/S geometry the published
 * targets of that width; on other models each DeiT-T schedule as the template of a derived one; on a
 * 12-block, 197-token model of another width only the derived default (0).
 */
function diffrateTargetsFor(config: VitConfig): number[] {
  const ok = (t: number) => {
    try {
      diffrateKeptNumbers(t, { depth: config.num_hidden_layers, tokens: numTokens(config), hidden: config.hidden_size });
      return true;
    } catch {
      return false;
    }
  };
  const sizeOf = (m: string) => DIFFRATE_SCHEDULES.filter((s) => s.model === m).map((s) => Number(s.target));
  const published = [...sizeOf('ViT-T-DeiT'), ...sizeOf('ViT-S-DeiT')].filter((t) => ok(t) && !(t >= 2 && ok(0.6)));
  const values = published.length > 0 ? published : [0];
  return values.sort((a, b) => b - a);
}

/** PPT's r at three layers: fractions of the patch tokens (r = 50 of 196 on DeiT is ≈ 0.25). */
function pptRValues(config: VitConfig): number[] {
  const patches = numTokens(config) - 1;
  return [...new Set([0.1, 0.15, 0.2, 0.25].map((f) => Math.max(1, Math.round(f * patches))))];
}

/** GTP's largest p that leaves a patch token at every one of the model's blocks: p·L < patches. */
function gtpMaxP(config: VitConfig): number {
  return Math.max(1, Math.ceil((numTokens(config) - 1) / config.num_hidden_layers) - 1);
}

/** GTP's p at every block: a quarter, half, three quarters and all of the largest (4, 8, 12, 16 on DeiT). */
function gtpPValues(config: VitConfig): number[] {
  const max = gtpMaxP(config);
  return [...new Set([0.25, 0.5, 0.75, 1].map((f) => Math.max(1, Math.round(f * max))))];
}

/** The swept parameter of each method and its values for `config`. */
export function sweepValues(method: MethodId, config: VitConfig): { param: string; values: number[] } {
  switch (method) {
    case 'tome':
    case 'mctf':
      return { param: 'r', values: rValues(config) };
    case 'pitome':
      return { param: 'ratio', values: [0.95, 0.9, 0.85, 0.8] };
    case 'evit':
    case 'topk':
      return { param: 'keep', values: [0.9, 0.7, 0.5, 0.3] };
    case 'ats':
      return { param: 'k', values: [0, 0.75, 0.5, 0.3] };
    case 'diffrate':
      return { param: 'target_flops', values: diffrateTargetsFor(config) };
    case 'atc':
      return { param: 'keep', values: [0.9, 0.7, 0.5, 0.25] };
    case 'ppt':
      return { param: 'r', values: pptRValues(config) };
    case 'gtp':
      return { param: 'p', values: gtpPValues(config) };
  }
}

export function sweepPlans(methods: MethodId[], config: VitConfig): SweepPoint[] {
  return methods.flatMap((method) => {
    const { param, values } = sweepValues(method, config);
    return values.map((value) => ({ method, param, value, plan: `${method}:${param}=${value}` }));
  });
}

/** Candidate values of each method's parameter, finest first-to-last, for the budget solver. */
function candidates(method: MethodId, config: VitConfig): { param: string; values: number[] } {
  const n0 = numTokens(config);
  const steps = (from: number, to: number, step: number) =>
    Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => Number((from + i * step).toFixed(6)));
  switch (method) {
    case 'tome':
    case 'mctf':
      return { param: 'r', values: steps(0, Math.floor((n0 - 1) / 2), 1) };
    case 'pitome':
      return { param: 'ratio', values: steps(0.5, 1, 0.0025) };
    case 'evit':
    case 'topk':
      return { param: 'keep', values: steps(0.01, 1, 0.01) };
    case 'ats':
      return { param: 'k', values: steps(0.05, 1, 0.05) };
    case 'diffrate':
      return { param: 'target_flops', values: diffrateTargetsFor(config) };
    case 'atc':
      return { param: 'keep', values: steps(0.05, 1, 0.05) };
    case 'ppt':
      return { param: 'r', values: steps(0, Math.floor((n0 - 1) / 2), 1) };
    case 'gtp':
      return { param: 'p', values: steps(1, gtpMaxP(config), 1) };
  }
}

export interface BudgetChoice {
  method: MethodId;
  plan: string;
  param: string;
  value: number;
  /** GFLOPs of the chosen plan (schedule), or null when it depends on the images (ATS). */
  gflops: number | null;
}

/**
 * For a fixed-schedule method, the plan whose GFLOPs are the largest not above `targetGflops`
 * (null when even the strongest setting costs more). ATS's cost depends on the images: callers
 * measure its candidates on a set (see `atsCandidates`).
 */
export function solveBudget(method: MethodId, config: VitConfig, targetGflops: number): BudgetChoice | null {
  if (method === 'ats') throw new Error('ATS costs depend on the images: measure atsCandidates() on a set');
  const { param, values } = candidates(method, config);
  let best: BudgetChoice | null = null;
  for (const value of values) {
    const plan = `${method}:${param}=${value}`;
    const result = scheduledFlops(config, compilePlan(planFromText(plan, config.num_hidden_layers), config));
    if (!result) continue;
    const gflops = result.report.model / 1e9;
    if (gflops <= targetGflops + 1e-12 && (!best || gflops > best.gflops!)) best = { method, plan, param, value, gflops };
  }
  return best;
}

/** ATS's cap candidates, to be measured on a set and chosen like `solveBudget` does. */
export function atsCandidates(config: VitConfig): SweepPoint[] {
  const { param, values } = candidates('ats', config);
  return values.map((value) => ({ method: 'ats', param, value, plan: `ats:${param}=${value}` }));
}
