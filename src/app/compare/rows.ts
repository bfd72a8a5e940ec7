/**
 * Pure helpers over sweep results: the equal-budget text, where each number comes from (in words),
 * the Pareto front, the playground link of a plan and the CLI command that reproduces a run.
 */
import { TokenScopeError, type Parsed } from '../../errors';
import type { DataInfo, SweepResult, SweepRow } from './protocol';

export type Budget = { kind: 'gflops'; value: number } | { kind: 'percent'; value: number };

/**
 * Reads a budget as the CLI's --budget does: GFLOPs ("0.006") or a percentage of the unreduced
 * model ("60%").
 */
export function parseBudget(text: string): Parsed<Budget> {
  const m = /^(\d+(?:\.\d+)?)\s*(%?)$/.exec(text.trim());
  const bad = (why: string) => ({ ok: false as const, error: new TokenScopeError('param-out-of-range', why) });
  if (!m) return bad(`budget ${JSON.stringify(text.slice(0, 40))}: give GFLOPs (e.g. 0.006) or a percentage of the unreduced model (e.g. 60%)`);
  const value = Number(m[1]);
  if (!(value > 0)) return bad('the budget must be above 0');
  if (m[2] && value > 100) return bad(`${value}% is more than the unreduced model costs; give at most 100%`);
  return { ok: true, value: m[2] ? { kind: 'percent', value } : { kind: 'gflops', value } };
}

/** The budget in GFLOPs, given the unreduced model's measured GFLOPs (as the CLI computes it). */
export function budgetGflops(budget: Budget, baseGflops: number): number {
  return budget.kind === 'percent' ? (budget.value / 100) * baseGflops : budget.value;
}

/** The budget text the CLI takes (`--budget`), canonical. */
export function formatBudget(budget: Budget): string {
  return budget.kind === 'percent' ? `${budget.value}%` : String(budget.value);
}

/** Where a live number comes from, in words. */
export function provenance(data: DataInfo): string {
  const images = `${data.n.toLocaleString('en')} image${data.n === 1 ? '' : 's'}`;
  if (data.kind === 'bundled') return `live on the bundled set (${images})`;
  return data.labelled ? `live on your images (${images}, labelled by folder)` : `live on your images (${images})`;
}

export type Metric = 'accuracy' | 'agreement' | 'kl';

export const METRIC_LABEL: Record<Metric, string> = {
  accuracy: 'top-1 accuracy',
  agreement: 'top-1 agreement with the unreduced model',
  kl: 'mean KL divergence to the unreduced model (nats)',
};

/** The value a row has for a metric; null where it does not exist (accuracy without labels). */
export function metricValue(row: SweepRow, metric: Metric): number | null {
  const v = row[metric];
  return v === null || Number.isNaN(v) ? null : v;
}

/** Higher is better for accuracy and agreement, lower for KL. */
export const higherIsBetter = (metric: Metric) => metric !== 'kl';

/**
 * The rows no other row beats on both cost and the metric (fewer or equal GFLOPs and an equal or
 * better value, one of them strictly), sorted by GFLOPs. Rows without a value are left out.
 */
export function paretoFront(rows: SweepRow[], metric: Metric): SweepRow[] {
  const sign = higherIsBetter(metric) ? 1 : -1;
  const scored = rows.flatMap((r) => {
    const v = metricValue(r, metric);
    return v === null ? [] : [{ r, g: r.gflops, v: sign * v }];
  });
  const front = scored.filter((a) => !scored.some((b) => b !== a && b.g <= a.g && b.v >= a.v && (b.g < a.g || b.v > a.v)));
  const seen = new Set<string>();
  return front
    .sort((a, b) => a.g - b.g || b.v - a.v)
    .filter(({ r }) => (seen.has(r.plan) ? false : (seen.add(r.plan), true)))
    .map(({ r }) => r);
}

/** Percent of the unreduced model's GFLOPs. */
export function percentOfBase(row: SweepRow, result: SweepResult): number {
  return (100 * row.gflops) / result.rows[0].gflops;
}

/** Percent-encodes a value but keeps the plan grammar's ':', ',', '=' and '/' readable (like the playground). */
export function encodePlanValue(text: string): string {
  return encodeURIComponent(text).replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%3D/g, '=').replace(/%2F/g, '/');
}

/** The playground (index.html next to compare.html) showing `plan`, optionally on a gallery sample and backend. */
/** What a link to the playground carries besides the plan: the model (hub id) and the backend. */
export interface PlaygroundLink {
  backend?: string;
  /** A hub model id; null or absent = the bundled model. */
  model?: string | null;
}

export function playgroundHref(plan: string, { sample, backend, model }: PlaygroundLink & { sample?: string } = {}): string {
  const parts = ['v=1'];
  if (model) parts.push(`model=${encodeURIComponent(model).replace(/%2F/g, '/').replace(/%40/g, '@')}`);
  if (plan !== 'none') parts.push(`plan=${encodePlanValue(plan)}`);
  if (sample) parts.push(`sample=${encodeURIComponent(sample)}`);
  if (backend && backend !== 'auto') parts.push(`backend=${encodeURIComponent(backend)}`);
  return `index.html?${parts.join('&')}`;
}

/** The `tokenscope sweep` command that evaluates the same points on the same images (bundled set only). */
export function cliCommand(result: SweepResult): string | null {
  if (result.data.kind !== 'bundled') return null;
  const methods = result.methods.join(',');
  const budget = result.budget ? ` --budget ${result.budget.text}` : '';
  return (
    `npx tokenscope sweep --model models/fmnist-vit --eval-set public/${result.data.name} --limit ${result.data.n}` +
    ` --batch ${result.batch}${methods ? ` --methods ${methods}` : ''}${budget} --json`
  );
}
