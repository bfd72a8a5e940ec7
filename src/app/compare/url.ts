/**
 * The compare page's shareable state, read from and written to the query through one field table
 * (state/url-codec.ts, as the playground does): methods, images, metric, budget, the side-by-side
 * plans, sample and block, and the backend. Pure (no `window`).
 *
 *   compare.html?methods=tome,evit&n=200&y=agreement&budget=60%25&plans=tome:r=4;evit:keep=0.5
 *
 * Results never go into the link: they are recomputed (or read from the cache).
 */
import { formatPlan, METHOD_IDS, parsePlan } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';
import { defaultState, encodeQueryValue, type FieldTable, readQuery, type UrlContext, type UrlField, writeQuery } from '../state/url-codec';
import { type BackendChoice, backendField, layerField, modelField, sampleField } from '../state/url-fields';
import { COMPARE_LESSONS } from '../lessons/pareto';
import { stepField } from '../lessons/url-fields';
import { parseBudget, formatBudget, type Metric } from './rows';

export const MAX_IMAGES = 1000;
export const IMAGE_CHOICES = [40, 100, 200, 500, 1000] as const;
export const MAX_SIDE_BY_SIDE = 4;

/** The link is checked against the same context as the playground's. */
export type CompareContext = UrlContext;

export interface CompareState {
  /** A hub model id (`owner/name[@revision]`); null = the bundled model. */
  model: string | null;
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
  /** A compare-page lesson (lessons/pareto.ts) and its step (1-based). */
  lesson: string | null;
  step: number;
}

const compareLessonField: UrlField<string | null> = {
  key: 'lesson',
  label: 'lesson',
  default: () => null,
  parse: (raw) =>
    COMPARE_LESSONS.some((l) => l.id === raw)
      ? { ok: true, value: raw }
      : { ok: false, reason: `not a lesson of this page; its lessons are ${COMPARE_LESSONS.map((l) => l.id).join(', ')} (the others are on the playground)` },
  format: (v) => v ?? '',
};

const methodsField: UrlField<MethodId[]> = {
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

const imagesField: UrlField<number> = {
  key: 'n',
  label: 'number of images',
  default: () => 200,
  parse(raw) {
    if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_IMAGES) return { ok: false, reason: `give a whole number from 1 to ${MAX_IMAGES}` };
    return { ok: true, value: Number(raw) };
  },
  format: String,
};

const metricField: UrlField<Metric> = {
  key: 'y',
  label: 'metric',
  default: () => 'accuracy',
  parse: (raw) => (['accuracy', 'agreement', 'kl'].includes(raw) ? { ok: true, value: raw as Metric } : { ok: false, reason: 'use accuracy, agreement or kl' }),
  format: (v) => v,
};

const budgetField: UrlField<string> = {
  key: 'budget',
  label: 'budget',
  default: () => '',
  parse(raw) {
    const b = parseBudget(raw);
    return b.ok ? { ok: true, value: formatBudget(b.value) } : { ok: false, reason: b.error.message };
  },
  format: (v) => v,
};

const plansField: UrlField<string[]> = {
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

/** The field table: the only list of persisted state. */
const FIELDS: FieldTable<CompareState> = {
  model: modelField,
  methods: methodsField,
  n: imagesField,
  y: metricField,
  budget: budgetField,
  plans: plansField,
  sample: sampleField,
  layer: { ...layerField, label: 'selected block' },
  backend: backendField,
  lesson: compareLessonField,
  step: stepField,
};

export const defaultCompareState = (ctx: CompareContext): CompareState => defaultState(FIELDS, ctx);

export const parseCompareUrl = (search: string, ctx: CompareContext) => readQuery(search, FIELDS, ctx);

/** Also keeps the ';' between side-by-side plans readable. */
const encodeValue = (text: string) => encodeQueryValue(text).replace(/%3B/g, ';');

export const formatCompareUrl = (state: CompareState, ctx: CompareContext): string => writeQuery(state, FIELDS, ctx, { encode: encodeValue });
