/**
 * The rules of tests/fixtures/conformance/compare.py (the reference checker), in TypeScript.
 *
 * compare.py is the tie-breaker: every verdict here (status, checked, skipped, max_abs_err) is
 * meant to equal its verdict for the same reference and candidate, and compare.test.ts checks
 * that by running both on the same files. Messages follow compare.py's wording but need not
 * match it byte for byte. Where compare.py would crash on a malformed candidate (a key field
 * that is not a list, a set of mixed types), we report a mismatch instead.
 *
 * Per output field, the reference's `compare[field]` spec says how it is checked:
 * - `float`: same shape, max |ref − cand| ≤ tol; null matches only null; the strings
 *   "Infinity" / "-Infinity" / "NaN" stand for non-finite values and must match exactly.
 * - `exact`: integers / booleans / nested lists equal (a boolean matches by truthiness, as in Python).
 * - `set`: like `exact` after sorting the last axis (the official order carries no meaning).
 * - `rows_by`: for each span `{key, start}`, rows `start + j` (axis 1) belong to `key[b][j]`;
 *   both sides are reordered by their own key, then compared as `values` (`float` | `int`).
 * - `error`: the official code raised; the candidate must put something other than
 *   null / false / 0 / "" in the field.
 * A field with `required: false` is skipped when the candidate lacks it; a missing required
 * field fails. A mismatch in a field listed in `tie_dependent` gives PASS(TIE) unless `strictTies`.
 */
import { TokenScopeError, type Parsed } from '../../errors';
import type { ConformanceCase } from './case';

/** What a candidate file holds: plain JSON. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** compare.py's default float tolerance. */
export const DEFAULT_TOL = 1e-4;

/** The part of a case file that comparing needs (tests can build tiny ones by hand). */
export type ReferenceCase = Pick<ConformanceCase, 'outputs' | 'compare' | 'tie_dependent'>;

export interface CompareOptions {
  /** Float tolerance (max abs error); default 1e-4. */
  tol?: number;
  /** Count mismatches in tie-dependent fields as failures (compare.py --strict-ties). */
  strictTies?: boolean;
}

export type CaseStatus = 'PASS' | 'PASS(TIE)' | 'FAIL';

/** OK: compared equal. SKIP: optional and absent. MISSING: required (or a rows_by key) absent. DIFF: compared unequal. */
export type FieldVerdict = 'OK' | 'SKIP' | 'MISSING' | 'DIFF';

export interface FieldResult {
  field: string;
  verdict: FieldVerdict;
  /** Max abs error of a float comparison (also when it exceeded tol), else null. */
  absErr: number | null;
  /** Why it is not OK ('' when OK). */
  reason: string;
}

export interface FieldFailure {
  field: string;
  reason: string;
}

export interface CaseComparison {
  status: CaseStatus;
  /** Largest float error seen over the checked fields (failing ones included), as compare.py reports it. */
  maxAbsErr: number;
  /** Fields compared (everything but skipped optional ones). */
  checked: number;
  /** Optional fields the candidate did not provide. */
  skipped: number;
  /** Fields that make the case FAIL. */
  failures: FieldFailure[];
  /** Mismatches in tie-dependent fields that were tolerated (status PASS(TIE)). */
  ties: FieldFailure[];
  /** Every field in the reference's `compare` order, for verbose listings. */
  fields: FieldResult[];
}

/** Compares one candidate (file contents: outputs under "outputs" or at top level) with its reference case. */
export function compareCase(reference: ReferenceCase, candidate: Record<string, unknown>, opts: CompareOptions = {}): CaseComparison {
  const tol = opts.tol ?? DEFAULT_TOL;
  const refOut = reference.outputs;
  const candOut = candidateOutputs(candidate);
  const ties = new Set(reference.tie_dependent ?? []);
  const result: CaseComparison = { status: 'PASS', maxAbsErr: 0, checked: 0, skipped: 0, failures: [], ties: [], fields: [] };
  for (const [field, spec] of Object.entries(reference.compare)) {
    const r = compareField(field, spec, refOut, candOut, tol);
    result.fields.push(r);
    if (r.verdict === 'SKIP') {
      result.skipped += 1;
      continue;
    }
    result.checked += 1;
    if (r.absErr !== null) result.maxAbsErr = Math.max(result.maxAbsErr, r.absErr);
    if (r.verdict === 'OK') continue;
    if (r.verdict === 'DIFF' && ties.has(field) && !opts.strictTies) {
      result.ties.push({ field, reason: r.reason });
      if (result.status === 'PASS') result.status = 'PASS(TIE)';
      continue;
    }
    result.failures.push({ field, reason: r.reason });
    result.status = 'FAIL';
  }
  return result;
}

/** The outputs object of a candidate file: its "outputs" object if it has one, else the file itself. */
export function candidateOutputs(candidate: Record<string, unknown>): Record<string, unknown> {
  const inner = candidate.outputs;
  return isPlainRecord(inner) ? inner : candidate;
}

/** Compares one field by its spec (`mode` defaults to float, `required` to true). */
export function compareField(
  field: string,
  spec: ConformanceCase['compare'][string],
  refOut: Record<string, unknown>,
  candOut: Record<string, unknown>,
  tol: number,
): FieldResult {
  const ok = (absErr: number | null = null): FieldResult => ({ field, verdict: 'OK', absErr, reason: '' });
  const diff = (reason: string, absErr: number | null = null): FieldResult => ({ field, verdict: 'DIFF', absErr, reason });
  const fromExact = (reason: string | null): FieldResult => (reason === null ? ok() : diff(reason));
  const fromFloat = (r: FloatResult): FieldResult => (r.ok ? ok(r.absErr) : diff(r.reason, r.absErr));

  // Python's spec.get(key, default): a key present with null keeps its null.
  const mode: unknown = has(spec, 'mode') ? spec.mode : 'float';
  const refv = has(refOut, field) ? refOut[field] : null;
  if (!has(candOut, field)) {
    const required = has(spec, 'required') ? pyTruthy(spec.required) : true;
    return { field, verdict: required ? 'MISSING' : 'SKIP', absErr: null, reason: 'not in candidate' };
  }
  const candv = candOut[field];

  switch (mode) {
    case 'float':
      return fromFloat(floatDiff(refv, candv, tol));
    case 'exact':
      return fromExact(exactDiff(refv, candv));
    case 'set': {
      if (refv === null || candv === null) return fromExact(exactDiff(refv, candv));
      const r = sortLast(refv);
      const c = sortLast(candv);
      if (!r.ok) return diff(`reference ${r.reason}`);
      if (!c.ok) return diff(c.reason);
      return fromExact(exactDiff(r.value, c.value));
    }
    case 'rows_by': {
      const spans = parseSpans(spec.spans);
      if (!spans.ok) return diff(spans.reason);
      if (refv === null || candv === null) return fromExact(exactDiff(refv, candv));
      const keys = spans.value.map((s) => s.key);
      if (keys.some((k) => !has(candOut, k))) {
        return { field, verdict: 'MISSING', absErr: null, reason: `rows_by needs key field(s) ${formatList(keys)} in candidate` };
      }
      const r = reorderRows(refv, refOut, spans.value);
      if (!r.ok) return diff(`reference ${r.reason}`);
      const c = reorderRows(candv, candOut, spans.value);
      if (!c.ok) return diff(c.reason);
      const values: unknown = has(spec, 'values') ? spec.values : 'float';
      return values === 'float' ? fromFloat(floatDiff(r.value, c.value, tol)) : fromExact(exactDiff(r.value, c.value));
    }
    case 'error':
      return isNoError(candv) ? diff(`official code raised (${repr(refv)}); candidate reported no error`) : ok();
    default:
      return diff(`unknown compare mode ${repr(mode)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// float

type FloatResult = { ok: true; absErr: number } | { ok: false; reason: string; absErr: number | null };

/** compare.py's cmp_float: null only matches null; shapes equal; max abs error ≤ tol; non-finite values equal. */
export function floatDiff(ref: unknown, cand: unknown, tol: number): FloatResult {
  if (ref === null || cand === null) {
    if (ref === null && cand === null) return { ok: true, absErr: 0 };
    return { ok: false, absErr: null, reason: ref === null ? 'reference is null, candidate is a value' : 'candidate is null, reference is a value' };
  }
  const r = decodeNonFinite(ref);
  const c = decodeNonFinite(cand);
  const rs = shapeOf(r);
  const cs = shapeOf(c);
  if (!sameShape(rs, cs) || !isRect(c, cs)) {
    return { ok: false, absErr: null, reason: `shape ${formatList(rs)} vs candidate ${formatList(cs)}` };
  }
  const a = flatten(r);
  const b = flatten(c);
  let worst = 0;
  let where = -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const y = b[i];
    if (typeof y !== 'number') return { ok: false, absErr: null, reason: `non-number ${repr(y)} at flat index ${i}` };
    const x = asNumber(a[i]);
    if (x === null) return { ok: false, absErr: null, reason: `reference holds non-number ${repr(a[i])} at flat index ${i}` };
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      if (!((Number.isNaN(x) && Number.isNaN(y)) || x === y)) {
        return { ok: false, absErr: null, reason: `non-finite mismatch at flat index ${i}: ${repr(x)} vs ${repr(y)}` };
      }
      continue;
    }
    const d = Math.abs(x - y);
    if (d > worst) {
      worst = d;
      where = i;
    }
  }
  if (worst > tol) {
    return {
      ok: false,
      absErr: worst,
      reason: `max abs err ${formatG(worst, 3)} > tol at flat index ${where} (ref ${repr(a[where])}, cand ${repr(b[where])})`,
    };
  }
  return { ok: true, absErr: worst };
}

const NON_FINITE: Record<string, number> = { Infinity: Infinity, '-Infinity': -Infinity, NaN: NaN };

/** The non-finite strings -> numbers, through nested lists (other strings stay strings). */
function decodeNonFinite(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeNonFinite);
  if (typeof v === 'string' && has(NON_FINITE, v)) return NON_FINITE[v];
  return v;
}

/** A reference element as a number (Python's float(x) accepts booleans), or null. */
function asNumber(x: unknown): number | null {
  if (typeof x === 'number') return x;
  if (typeof x === 'boolean') return x ? 1 : 0;
  return null;
}

// ---------------------------------------------------------------------------------------------
// exact and set

/** compare.py's cmp_exact: null when equal, else where and how they differ ("[0][3]: 4 vs 5"). */
export function exactDiff(ref: unknown, cand: unknown): string | null {
  if (Array.isArray(ref) || Array.isArray(cand)) {
    if (!Array.isArray(ref) || !Array.isArray(cand)) {
      return `shape ${formatList(shapeOf(ref))} vs candidate ${formatList(shapeOf(cand))}`;
    }
    if (ref.length !== cand.length) return `length ${ref.length} vs candidate ${cand.length}`;
    for (let i = 0; i < ref.length; i++) {
      const d = exactDiff(ref[i], cand[i]);
      if (d !== null) return `[${i}]${d}`;
    }
    return null;
  }
  if (typeof ref === 'boolean' || typeof cand === 'boolean') {
    // Python: bool(ref) == bool(cand) and both or neither None, so True matches 1.
    const same = pyTruthy(ref) === pyTruthy(cand) && (ref === null) === (cand === null);
    return same ? null : `: ${repr(ref)} vs ${repr(cand)}`;
  }
  return pyEquals(ref, cand) ? null : `: ${repr(ref)} vs ${repr(cand)}`;
}

type Sorted = { ok: true; value: unknown } | { ok: false; reason: string };

/** compare.py's sort_last: sorts the innermost lists (the last axis) ascending. */
function sortLast(v: unknown): Sorted {
  if (!Array.isArray(v)) return { ok: true, value: v };
  if (v.length > 0 && Array.isArray(v[0])) {
    const out: unknown[] = [];
    for (const e of v) {
      const s = sortLast(e);
      if (!s.ok) return s;
      out.push(s.value);
    }
    return { ok: true, value: out };
  }
  const cmp = comparator(v);
  if (cmp === null) return { ok: false, reason: `set values are not mutually comparable: ${repr(v)}` };
  return { ok: true, value: [...v].sort(cmp) };
}

/** An ascending order for a list, as Python's sorted() would use, or null where Python would raise. */
function comparator(v: unknown[]): ((a: unknown, b: unknown) => number) | null {
  if (v.length < 2) return () => 0;
  if (v.every((e) => typeof e === 'number' || typeof e === 'boolean')) return (a, b) => Number(a) - Number(b);
  if (v.every((e) => typeof e === 'string')) return (a, b) => ((a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0);
  return null;
}

// ---------------------------------------------------------------------------------------------
// rows_by

export interface RowSpan {
  /** Output field holding the index of each row, `[B, K]`. */
  key: string;
  /** First row (axis 1) the span covers. */
  start: number;
}

type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

function parseSpans(raw: unknown): Checked<RowSpan[]> {
  const bad = { ok: false as const, reason: `rows_by spec needs spans [{key, start}], got ${repr(raw)}` };
  if (!Array.isArray(raw)) return bad;
  const spans: RowSpan[] = [];
  for (const s of raw) {
    if (!isPlainRecord(s) || typeof s.key !== 'string') return bad;
    const start = s.start ?? 0;
    if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) return bad;
    spans.push({ key: s.key, start });
  }
  return { ok: true, value: spans };
}

/**
 * compare.py's reorder_rows: `arr` is [B, T, ...]; in each span, rows start..start+K−1 of batch b
 * are put in ascending order of `owner[span.key][b]` (a stable sort).
 */
function reorderRows(arr: unknown, owner: Record<string, unknown>, spans: RowSpan[]): Checked<unknown[][]> {
  if (!Array.isArray(arr)) return { ok: false, reason: `rows_by field is not a [B, T, ...] list: ${repr(arr)}` };
  const out: unknown[][] = [];
  for (let b = 0; b < arr.length; b++) {
    const block: unknown = arr[b];
    if (!Array.isArray(block)) return { ok: false, reason: `batch ${b} is not a list of rows` };
    const rows = [...block];
    for (const sp of spans) {
      const keyField = owner[sp.key];
      const keys: unknown = Array.isArray(keyField) ? keyField[b] : undefined;
      if (!Array.isArray(keys)) return { ok: false, reason: `key field '${sp.key}' has no index list for batch ${b}` };
      const k = keys.length;
      if (sp.start + k > rows.length) return { ok: false, reason: `span {key: '${sp.key}', start: ${sp.start}} exceeds rows` };
      const cmp = comparator(keys);
      if (cmp === null) return { ok: false, reason: `key field '${sp.key}' holds values that cannot be ordered` };
      const order = keys.map((_, j) => j).sort((i, j) => cmp(keys[i], keys[j]));
      const seg = order.map((j) => rows[sp.start + j]);
      rows.splice(sp.start, k, ...seg);
    }
    out.push(rows);
  }
  return { ok: true, value: out };
}

// ---------------------------------------------------------------------------------------------
// error

/** compare.py: `candv in (None, False, "")`, where Python's == also makes 0 equal False. */
function isNoError(v: unknown): boolean {
  return v === null || v === false || v === '' || v === 0;
}

// ---------------------------------------------------------------------------------------------
// nested-list helpers (Python semantics)

/** compare.py's shape(): lengths down the first elements, stopping at an empty list. */
function shapeOf(v: unknown): number[] {
  const s: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    s.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return s;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** True if `v` is a rectangular nested list of exactly this shape. */
function isRect(v: unknown, shape: number[]): boolean {
  if (shape.length === 0) return !Array.isArray(v);
  if (!Array.isArray(v) || v.length !== shape[0]) return false;
  const rest = shape.slice(1);
  return v.every((e) => isRect(e, rest));
}

function flatten(v: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const e of v) flatten(e, out);
  else out.push(v);
  return out;
}

/** Python's truth value of a JSON value. */
function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0; // NaN is truthy in Python too
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Python's == on JSON values (numbers and booleans compare by value; NaN != NaN). */
function pyEquals(a: unknown, b: unknown): boolean {
  const numeric = (v: unknown): v is number | boolean => typeof v === 'number' || typeof v === 'boolean';
  if (numeric(a) && numeric(b)) return Number(a) === Number(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((e, i) => pyEquals(e, b[i]));
  }
  if (isPlainRecord(a) && isPlainRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => has(b, k) && pyEquals(a[k], b[k]));
  }
  return a === b;
}

function has(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key) && (o as Record<string, unknown>)[key] !== undefined;
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A short, Python-like rendering of a value for messages. */
function repr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isNaN(v) ? 'nan' : Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : '-inf';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function formatList(xs: readonly (number | string)[]): string {
  return `[${xs.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(', ')}]`;
}

// ---------------------------------------------------------------------------------------------
// encoding a runner's outputs as a candidate file

/**
 * A runner's outputs as the JSON a candidate file holds: non-finite numbers become the strings
 * "Infinity" / "-Infinity" / "NaN" (JSON.stringify would make them null), typed arrays become
 * lists, undefined fields are dropped. Anything else that is not plain data (a tf.Tensor, a Map)
 * throws 'data-malformed' naming the field, since JSON.stringify would silently mangle it.
 */
export function encodeOutputs(outputs: Record<string, unknown>): { [key: string]: Json } {
  const encoded = encodeJson(outputs, 'outputs');
  if (!isPlainRecord(encoded)) throw new TokenScopeError('internal', 'encodeOutputs: an object did not encode to an object');
  return encoded as { [key: string]: Json };
}

function encodeJson(v: unknown, path: string): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((e, i) => encodeJson(e, `${path}[${i}]`));
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    return Array.from(v as unknown as ArrayLike<number | bigint>, (e, i) => encodeJson(e, `${path}[${i}]`));
  }
  if (isPlainRecord(v)) {
    const out: { [key: string]: Json } = {};
    for (const [k, e] of Object.entries(v)) if (e !== undefined) out[k] = encodeJson(e, `${path}.${k}`);
    return out;
  }
  const kind = typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
  throw new TokenScopeError(
    'data-malformed',
    `${path} is a ${kind}, not JSON data; a runner returns nested arrays, numbers, booleans and strings (use toNested(tensor) from case.ts)`,
    { path, kind },
  );
}

// ---------------------------------------------------------------------------------------------
// compare.py-style report lines

/** Python's '%.<precision>g'. */
export function formatG(x: number, precision = 6): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const p = Math.max(1, precision);
  const [mantissa, expText] = x.toExponential(p - 1).split('e');
  const exp = Number(expText);
  const strip = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= p) return `${strip(mantissa)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return strip(x.toFixed(p - 1 - exp));
}

/** `tome/case01       PASS      max_abs_err=1.2e-07   checked=12 skipped=0  title`, as compare.py prints it. */
export function formatCaseLine(id: string, title: string, cmp: CaseComparison): string {
  return `${id.padEnd(18)} ${cmp.status.padEnd(9)} max_abs_err=${formatG(cmp.maxAbsErr, 3).padEnd(9)} checked=${cmp.checked} skipped=${cmp.skipped}  ${title}`;
}

/** The indented lines under a case: FAIL and TIE fields, and with `verbose` the OK ones too. */
export function formatFieldLines(cmp: CaseComparison, verbose = false): string[] {
  const failing = new Set(cmp.failures.map((f) => f.field));
  const tied = new Set(cmp.ties.map((f) => f.field));
  const lines: string[] = [];
  for (const f of cmp.fields) {
    if (f.verdict === 'SKIP') continue;
    if (f.verdict === 'OK') {
      if (verbose) lines.push(`      ok    ${f.field.padEnd(22)} ${f.absErr === null ? '' : `max_abs_err=${formatG(f.absErr, 3)}`}`);
    } else if (tied.has(f.field) && !failing.has(f.field)) {
      lines.push(`      TIE   ${f.field.padEnd(22)} ${f.reason} (tie-dependent field)`);
    } else {
      lines.push(`      FAIL  ${f.field.padEnd(22)} ${f.reason}`);
    }
  }
  return lines;
}

/** `summary: FAIL=1, PASS=12 (tol=0.0001)`: counts in key order, as compare.py prints them. */
export function formatSummary(counts: Record<string, number>, tol: number): string {
  return `summary: ${formatCounts(counts)} (tol=${formatG(tol)})`;
}

/** `FAIL=1, PASS=12`: status counts in key order. */
export function formatCounts(counts: Record<string, number>): string {
  return Object.keys(counts)
    .sort()
    .map((k) => `${k}=${counts[k]}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// reading a reference case

/**
 * Checks that parsed JSON is a case file compareCase can use (method, case, outputs, a compare
 * spec with a mode per field) and returns it typed; `source` (a path) goes into the error.
 */
export function parseReferenceCase(value: unknown, source: string): Parsed<ConformanceCase> {
  const bad = (what: string): Parsed<ConformanceCase> => ({
    ok: false,
    error: new TokenScopeError('data-malformed', `${source} is not a conformance case: ${what}`, { source }),
  });
  if (!isPlainRecord(value)) return bad('expected a JSON object');
  for (const key of ['method', 'case'] as const) {
    if (typeof value[key] !== 'string') return bad(`"${key}" should be a string`);
  }
  for (const key of ['outputs', 'compare'] as const) {
    if (!isPlainRecord(value[key])) return bad(`"${key}" should be an object`);
  }
  const compare = value.compare as Record<string, unknown>;
  for (const [field, spec] of Object.entries(compare)) {
    if (!isPlainRecord(spec) || typeof spec.mode !== 'string') return bad(`compare.${field} should be {"mode": "...", ...}`);
  }
  const ties = value.tie_dependent;
  if (ties !== undefined && !(Array.isArray(ties) && ties.every((t) => typeof t === 'string'))) {
    return bad('"tie_dependent" should be a list of field names');
  }
  if (value.inputs !== undefined && !isPlainRecord(value.inputs)) return bad('"inputs" should be an object');
  const c = value as unknown as ConformanceCase;
  return { ok: true, value: { ...c, title: typeof c.title === 'string' ? c.title : '', params: c.params ?? {}, inputs: c.inputs ?? {} } };
}
