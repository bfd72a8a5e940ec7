/**
 * The compare page's shareable state, read from and written to the query through one field table
 * (the playground's approach, state/url.ts): methods, images, metric, budget, the side-by-side
 * plans, sample and block, and the backend. Pure (no `window`).
 *
 *   compare.html?methods=tome,evit&n=200&y=agreement&budget=60%25&plans=tome:r=4;evit:keep=0.5
 *
 * Defaults are omitted; unknown keys ignored; a bad value keeps its default and adds one line to
 * `problems`. Results never go into the link: they are recomputed (or read from the cache).
 */
import { formatPlan, METHOD_IDS, parsePlan } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';
import { BACKEND_CHOICES, type BackendChoice, quoteForMessage } from '../state/url';
import { parseBudget, formatBudget, type Metric } from './rows';

export const MAX_IMAGES = 1000;
export const IMAGE_CHOICES = [40, 100, 200, 500, 1000] as const;
export const MAX_SIDE_BY_SIDE = 4;

export interface CompareContext {
  depth: number;
  isSample(id: string): boolean;
  defaultSample: string;
}

export interface CompareState {
  methods: MethodId[];
  /** Images of the bundled set (its first n). */
  n: number;
  y: Metric;
  /** Budget text ('60%' or GFLOPs), '' for none. */
  budget: string;
  /** Side-by-side plans (canonical), 2–4; empty = the page's defaults. */
  plans: string[];
  sample: string;
  /** Selected block in the side-by-side view; null = the last. */
  layer: number | null;
  backend: BackendChoice;
}

type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

interface Field<T> {
  key: string;
  label: string;
  default(ctx: CompareContext): T;
  parse(raw: string, ctx: CompareContext): Decoded<T>;
  format(value: T): string;
}

const methodsField: Field<MethodId[]> = {
  key: 'methods',
  label: 'methods',
  default: () => [...METHOD_IDS],
  parse(raw) {
    const names = raw.split(',').filter(Boolean);
    const unknown = names.filter((m) => !(METHOD_IDS as string[]).includes(m));
    if (unknown.length || names.length === 0) return { ok: false, reason: `use some of ${METHOD_IDS.join(', ')}` };
    return { ok: true, value: METHOD_IDS.filter((m) => names.includes(m)) };
  },
  format: (v) => v.join(','),
};

const imagesField: Field<number> = {
  key: 'n',
  label: 'number of images',
  default: () => 200,
  parse(raw) {
    if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_IMAGES) return { ok: false, reason: `give a whole number from 1 to ${MAX_IMAGES}` };
    return { ok: true, value: Number(raw) };
  },
  format: String,
};

const metricField: Field<Metric> = {
  key: 'y',
  label: 'metric',
  default: () => 'accuracy',
  parse: (raw) => (['accuracy', 'agreement', 'kl'].includes(raw) ? { ok: true, value: raw as Metric } : { ok: false, reason: 'use accuracy, agreement or kl' }),
  format: (v) => v,
};

const budgetField: Field<string> = {
  key: 'budget',
  label: 'budget',
  default: () => '',
  parse(raw) {
    const b = parseBudget(raw);
    return b.ok ? { ok: true, value: formatBudget(b.value) } : { ok: false, reason: b.error.message };
  },
  format: (v) => v,
};

const plansField: Field<string[]> = {
  key: 'plans',
  label: 'side-by-side plans',
  default: () => [],
  parse(raw, ctx) {
    const texts = raw.split(';').filter((t) => t.trim() !== '');
    if (texts.length < 2 || texts.length > MAX_SIDE_BY_SIDE) return { ok: false, reason: `give 2 to ${MAX_SIDE_BY_SIDE} plans separated by ';'` };
    const plans: string[] = [];
    for (const t of texts) {
      const p = parsePlan(t, ctx.depth);
      if (!p.ok) return { ok: false, reason: p.error.message };
      plans.push(formatPlan(p.value));
    }
    return { ok: true, value: plans };
  },
  format: (v) => v.join(';'),
};

const sampleField: Field<string> = {
  key: 'sample',
  label: 'sample image',
  default: (ctx) => ctx.defaultSample,
  parse: (raw, ctx) => (/^[a-z0-9-]{1,40}$/.test(raw) && ctx.isSample(raw) ? { ok: true, value: raw } : { ok: false, reason: 'not a gallery image' }),
  format: (v) => v,
};

const layerField: Field<number | null> = {
  key: 'layer',
  label: 'selected block',
  default: () => null,
  parse(raw, ctx) {
    if (!/^\d{1,4}$/.test(raw)) return { ok: false, reason: 'not a whole number' };
    const l = Number(raw);
    return l < ctx.depth ? { ok: true, value: l } : { ok: false, reason: `the model has blocks 0..${ctx.depth - 1}` };
  },
  format: (v) => (v === null ? '' : String(v)),
};

const backendField: Field<BackendChoice> = {
  key: 'backend',
  label: 'backend',
  default: () => 'auto',
  parse: (raw) => ((BACKEND_CHOICES as readonly string[]).includes(raw) ? { ok: true, value: raw as BackendChoice } : { ok: false, reason: `use one of ${BACKEND_CHOICES.join(', ')}` }),
  format: (v) => v,
};

/** The field table: the only list of persisted state. */
const FIELDS: { [K in keyof CompareState]: Field<CompareState[K]> } = {
  methods: methodsField,
  n: imagesField,
  y: metricField,
  budget: budgetField,
  plans: plansField,
  sample: sampleField,
  layer: layerField,
  backend: backendField,
};

const NAMES = Object.keys(FIELDS) as (keyof CompareState)[];
const MAX_VALUE_CHARS = 500;

export function defaultCompareState(ctx: CompareContext): CompareState {
  return Object.fromEntries(NAMES.map((n) => [n, FIELDS[n].default(ctx)])) as unknown as CompareState;
}

export function parseCompareUrl(search: string, ctx: CompareContext): { state: CompareState; problems: string[] } {
  const state = defaultCompareState(ctx) as unknown as Record<string, unknown>;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let raw: string;
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      raw = decodeURIComponent(eq < 0 ? '' : part.slice(eq + 1));
    } catch {
      problems.push(`The link has a badly escaped part (${quoteForMessage(part)}); it was ignored.`);
      continue;
    }
    const name = NAMES.find((n) => FIELDS[n].key === key);
    if (!name) continue;
    if (seen.has(key)) {
      problems.push(`The link gives '${key}' more than once; the first one is used.`);
      continue;
    }
    seen.add(key);
    const field = FIELDS[name] as Field<unknown>;
    if (raw.length > MAX_VALUE_CHARS) {
      problems.push(`The ${field.label} in the link is ${raw.length} characters long (at most ${MAX_VALUE_CHARS}); it was ignored.`);
      continue;
    }
    const decoded = field.parse(raw, ctx);
    if (decoded.ok) state[name] = decoded.value;
    else problems.push(`Ignored ${field.label} ${quoteForMessage(raw)} from the link: ${decoded.reason}. The default is used.`);
  }
  return { state: state as unknown as CompareState, problems };
}

/** Keeps the plan grammar's ':', ',', '=', '/' and the ';' separator readable. */
const encodeValue = (text: string) =>
  encodeURIComponent(text).replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%3D/g, '=').replace(/%2F/g, '/').replace(/%3B/g, ';');

export function formatCompareUrl(state: CompareState, ctx: CompareContext): string {
  const parts: string[] = [];
  for (const name of NAMES) {
    const f = FIELDS[name] as Field<unknown>;
    const text = f.format(state[name]);
    if (text === '' || text === f.format(f.default(ctx))) continue;
    parts.push(`${f.key}=${encodeValue(text)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
