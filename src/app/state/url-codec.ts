/**
 * Reads and writes a page's shareable state as a URL query through a field table. Each field has
 * a key, a codec (text <-> value, with checks) and a default; a page's table is its only list of
 * persisted state. Pure (no `window`), so tests call it directly.
 *
 * Rules: defaults are omitted when writing; unknown keys are ignored; a bad value falls back to its
 * default and adds one plain-words line to `problems`. Values are only ever parsed as data, never
 * executed or put into markup.
 */

/** What a link is checked against: the loaded model's depth and the gallery. */
export interface UrlContext {
  depth: number;
  isSample(id: string): boolean;
  defaultSample: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface UrlField<T> {
  key: string;
  /** Plain-words name used in problems. */
  label: string;
  default(ctx: UrlContext): T;
  parse(raw: string, ctx: UrlContext): Decoded<T>;
  format(value: T): string;
  /** What the page does instead of a bad value, for the problem line; default: its default. */
  fallback?: string;
}

export type FieldTable<S> = { [K in keyof S]: UrlField<S[K]> };

export interface QueryOptions {
  /** Format version written as `v=` and checked on reading; without it `v` is an unknown key. */
  version?: number;
  /** Percent-encodes one value; default encodeQueryValue. */
  encode?(text: string): string;
}

const MAX_VALUE_CHARS = 500;

/** Short, quoted, printable rendering of untrusted text for messages. */
export function quoteForMessage(raw: string, max = 40): string {
  const printable = raw.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > max ? `${printable.slice(0, max)}…` : printable);
}

/** Percent-encodes a value but keeps the plan grammar's ':', ',', '=' and '/' readable. */
export function encodeQueryValue(text: string): string {
  return encodeURIComponent(text).replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%3D/g, '=').replace(/%2F/g, '/');
}

const names = <S>(fields: FieldTable<S>) => Object.keys(fields) as (keyof S)[];

export function defaultState<S>(fields: FieldTable<S>, ctx: UrlContext): S {
  return Object.fromEntries(names(fields).map((name) => [name, fields[name].default(ctx)])) as S;
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
export function readQuery<S>(search: string, fields: FieldTable<S>, ctx: UrlContext, { version }: QueryOptions = {}): { state: S; problems: string[] } {
  const state = defaultState(fields, ctx);
  const { pairs, problems } = splitQuery(search);
  const seen = new Set<string>();
  const byKey = new Map(names(fields).map((name) => [fields[name].key, name]));
  for (const [key, raw] of pairs) {
    if (version !== undefined && key === 'v') {
      if (raw !== String(version))
        problems.push(`The link says format version ${quoteForMessage(raw)}; this page reads version ${version}, so some settings may not apply.`);
      continue;
    }
    const name = byKey.get(key);
    if (name === undefined) continue; // unknown keys are ignored
    if (seen.has(key)) {
      problems.push(`The link gives '${key}' more than once; the first one is used.`);
      continue;
    }
    seen.add(key);
    const field = fields[name];
    if (raw.length > MAX_VALUE_CHARS) {
      problems.push(`The ${field.label} in the link is ${raw.length} characters long (at most ${MAX_VALUE_CHARS}); it was ignored.`);
      continue;
    }
    const decoded = field.parse(raw, ctx);
    if (decoded.ok) state[name] = decoded.value;
    else problems.push(`Ignored ${field.label} ${quoteForMessage(raw)} from the link: ${decoded.reason}. ${field.fallback ?? 'The default is used.'}`);
  }
  return { state, problems };
}

/** Writes the state as a query string ('' when everything is at its default). */
export function writeQuery<S>(state: S, fields: FieldTable<S>, ctx: UrlContext, { version, encode = encodeQueryValue }: QueryOptions = {}): string {
  const parts: string[] = [];
  for (const name of names(fields)) {
    const f = fields[name];
    const text = f.format(state[name]);
    if (text === '' || text === f.format(f.default(ctx))) continue;
    parts.push(`${f.key}=${encode(text)}`);
  }
  if (parts.length === 0) return '';
  return version === undefined ? `?${parts.join('&')}` : `?v=${version}&${parts.join('&')}`;
}
