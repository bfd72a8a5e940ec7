/**
 * The playground's shareable state, read from and written to the URL query through one field
 * table. Each field has a key, a codec (text <-> value, with checks) and a default; a new field is
 * one line of FIELDS. Both functions are pure (no `window`), so tests call them directly.
 *
 *   ?plan=evit:keep=0.5,layers=1/3&sample=fm-ankle-boot&layer=4&backend=wasm
 *
 * Rules: defaults are omitted when writing; unknown keys are ignored; a bad value falls back to its
 * default and adds one plain-words line to `problems`. Values are only ever parsed as data (the
 * plan by the plan grammar), never executed or put into markup. `v=1` marks the format version.
 */
import type { BackendName } from '../../model/backend';
import { formatPlan, parsePlan } from '../../reduce/plan';

export type BackendChoice = 'auto' | BackendName;
// Listed here rather than imported from model/backend.ts, which would pull TF.js into the page's
// bundle (the engine runs in the worker). The record makes the compiler check the list is complete.
const CHOICES: Record<BackendChoice, true> = { auto: true, webgpu: true, webgl: true, wasm: true, cpu: true };
export const BACKEND_CHOICES = Object.keys(CHOICES) as BackendChoice[];

/** What a link is checked against: the loaded model's depth and the gallery. */
export interface UrlContext {
  depth: number;
  isSample(id: string): boolean;
  defaultSample: string;
}

type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

interface Field<T> {
  key: string;
  /** Plain-words name used in problems. */
  label: string;
  default: (ctx: UrlContext) => T;
  parse(raw: string, ctx: UrlContext): Decoded<T>;
  format(value: T): string;
}

const MAX_VALUE_CHARS = 500;

/** Short, quoted, printable rendering of untrusted text for messages. */
export function quoteForMessage(raw: string, max = 40): string {
  const printable = raw.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > max ? `${printable.slice(0, max)}…` : printable);
}

const planField: Field<string> = {
  key: 'plan',
  label: 'plan',
  default: () => 'none',
  parse(raw, ctx) {
    const parsed = parsePlan(raw, ctx.depth);
    if (!parsed.ok) return { ok: false, reason: parsed.error.message };
    return { ok: true, value: formatPlan(parsed.value) };
  },
  format: (v) => v,
};

const sampleField: Field<string> = {
  key: 'sample',
  label: 'sample image',
  default: (ctx) => ctx.defaultSample,
  parse: (raw, ctx) => (/^[a-z0-9-]{1,40}$/.test(raw) && ctx.isSample(raw) ? { ok: true, value: raw } : { ok: false, reason: 'not a gallery image' }),
  format: (v) => v,
};

/** Selected block (0-based); null = the last block. */
const layerField: Field<number | null> = {
  key: 'layer',
  label: 'selected layer',
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
  parse: (raw) =>
    (BACKEND_CHOICES as readonly string[]).includes(raw)
      ? { ok: true, value: raw as BackendChoice }
      : { ok: false, reason: `use one of ${BACKEND_CHOICES.join(', ')}` },
  format: (v) => v,
};

/** The field table: the only list of persisted state. */
const FIELDS = { plan: planField, sample: sampleField, layer: layerField, backend: backendField };

type FieldValue<F> = F extends Field<infer T> ? T : never;
export type UrlState = { [K in keyof typeof FIELDS]: FieldValue<(typeof FIELDS)[K]> };

export const URL_VERSION = 1;

export function defaultUrlState(ctx: UrlContext): UrlState {
  return Object.fromEntries(Object.entries(FIELDS).map(([name, f]) => [name, f.default(ctx)])) as UrlState;
}

/**
 * Splits a query string into key/value pairs. '+' stays '+' (plans join segments with it), so a
 * hand-typed `plan=evit:layers=3+tome:layers=4-5` works; percent-escapes are decoded.
 */
function splitQuery(search: string): { pairs: [string, string][]; problems: string[] } {
  const pairs: [string, string][] = [];
  const problems: string[] = [];
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    try {
      pairs.push([decodeURIComponent(rawKey), decodeURIComponent(rawValue)]);
    } catch {
      problems.push(`The link has a badly escaped part (${quoteForMessage(part)}); it was ignored.`);
    }
  }
  return { pairs, problems };
}

/** Reads the state from a query string; anything invalid keeps its default and is reported. */
export function parseUrl(search: string, ctx: UrlContext): { state: UrlState; problems: string[] } {
  const state = defaultUrlState(ctx);
  const { pairs, problems } = splitQuery(search);
  const seen = new Set<string>();
  const byKey = new Map(Object.entries(FIELDS).map(([name, f]) => [f.key, name as keyof UrlState]));
  for (const [key, raw] of pairs) {
    if (key === 'v') {
      if (raw !== String(URL_VERSION)) problems.push(`The link says format version ${quoteForMessage(raw)}; this page reads version ${URL_VERSION}, so some settings may not apply.`);
      continue;
    }
    const name = byKey.get(key);
    if (!name) continue; // unknown keys are ignored
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
    if (decoded.ok) {
      (state as Record<string, unknown>)[name] = decoded.value;
    } else {
      const fallback = name === 'plan' ? ' The unreduced model runs instead.' : ' The default is used.';
      problems.push(`Ignored ${field.label} ${quoteForMessage(raw)} from the link: ${decoded.reason}.${fallback}`);
    }
  }
  return { state, problems };
}

/** Writes the state as a query string ('' when everything is at its default). */
export function formatUrl(state: UrlState, ctx: UrlContext): string {
  const parts: string[] = [];
  for (const [name, f] of Object.entries(FIELDS) as [keyof UrlState, Field<unknown>][]) {
    const value = state[name];
    const text = f.format(value);
    if (text === f.format(f.default(ctx)) || text === '') continue;
    parts.push(`${f.key}=${encodeValue(text)}`);
  }
  return parts.length ? `?v=${URL_VERSION}&${parts.join('&')}` : '';
}

/** Percent-encodes a value but keeps the plan grammar's ':', ',', '=' and '/' readable. */
function encodeValue(text: string): string {
  return encodeURIComponent(text).replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%3D/g, '=').replace(/%2F/g, '/');
}
