/**
 * MCTF against the official outputs (../shared/conformance/cases/mctf, or the cases folder named by
 * TOKENSCOPE_CONFORMANCE_CASES): one test per case file, checked by compare.py's rules.
 *
 * The comparison is a small local copy of those rules (float within 1e-4, exact, set, rows_by,
 * error) until the shared TypeScript port (src/reduce/conformance/compare.ts) is committed.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CaseOutputs, ConformanceCase } from '../../src/reduce/conformance/case';
import { runMctfCase } from '../../src/reduce/conformance/mctf';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

const TOL = 1e-4;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const casesDir = join(
  resolve(process.env.TOKENSCOPE_CONFORMANCE_CASES ?? join(repoRoot, '..', 'shared', 'conformance', 'cases')),
  'mctf',
);

type Value = unknown;

function decode(v: Value): Value {
  if (Array.isArray(v)) return v.map(decode);
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  return v;
}

function shapeOf(v: Value): number[] {
  const shape: number[] = [];
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

/** Max abs error, or a string saying why the two cannot be compared. */
function floatError(ref: Value, cand: Value): number | string {
  if (ref === null || cand === null) return ref === cand ? 0 : 'null vs value';
  const a = [decode(ref)].flat(Infinity) as number[];
  const b = [decode(cand)].flat(Infinity) as number[];
  if (shapeOf(ref).join() !== shapeOf(cand).join() || a.length !== b.length) {
    return `shape ${shapeOf(ref)} vs ${shapeOf(cand)}`;
  }
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (typeof b[i] !== 'number') return `non-number at ${i}`;
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) {
      if (!Object.is(a[i], b[i]) && a[i] !== b[i]) return `non-finite mismatch at ${i}`;
      continue;
    }
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst;
}

const sortLast = (v: Value): Value =>
  Array.isArray(v) && Array.isArray(v[0]) ? v.map(sortLast) : Array.isArray(v) ? [...(v as number[])].sort((x, y) => x - y) : v;

/** Rows (axis 1) of each span re-ordered by ascending key. */
function reorderRows(arr: Value[][], keys: Record<string, Value>, spans: { key: string; start?: number }[]): Value[][] {
  return arr.map((rows, b) => {
    const out = [...rows];
    for (const span of spans) {
      const key = (keys[span.key] as number[][])[b];
      const start = span.start ?? 0;
      const order = key.map((_, j) => j).sort((i, j) => key[i] - key[j]);
      order.forEach((j, k) => (out[start + k] = rows[start + j]));
    }
    return out;
  });
}

/** Failures of one candidate, as `field: why` lines (empty = conforms). */
function compareCase(c: ConformanceCase, cand: CaseOutputs): string[] {
  const failures: string[] = [];
  for (const [field, spec] of Object.entries(c.compare)) {
    const ref = c.outputs[field];
    if (!(field in cand)) {
      if (spec.required ?? true) failures.push(`${field}: missing`);
      continue;
    }
    const got = JSON.parse(JSON.stringify(cand[field]));
    const fail = (why: string) => failures.push(`${field}: ${why}`);
    switch (spec.mode) {
      case 'float': {
        const err = floatError(ref, got);
        if (typeof err === 'string') fail(err);
        else if (err > TOL) fail(`max abs err ${err}`);
        break;
      }
      case 'exact':
        if (JSON.stringify(ref) !== JSON.stringify(got)) fail(`${JSON.stringify(got)} vs official ${JSON.stringify(ref)}`);
        break;
      case 'set':
        if (JSON.stringify(sortLast(ref)) !== JSON.stringify(sortLast(got))) fail('different sets');
        break;
      case 'rows_by': {
        const spans = spec.spans as { key: string; start?: number }[];
        if (ref === null || got === null) {
          if (ref !== got) fail('null vs value');
          break;
        }
        const r = reorderRows(ref as Value[][], c.outputs, spans);
        const g = reorderRows(got as Value[][], cand, spans);
        if (spec.values === 'int') {
          if (JSON.stringify(r) !== JSON.stringify(g)) fail('rows differ');
        } else {
          const err = floatError(r, g);
          if (typeof err === 'string' || err > TOL) fail(`rows differ (${err})`);
        }
        break;
      }
      case 'error':
        if (!got) fail('official code raised; we reported no error');
        break;
      default:
        fail(`unknown compare mode ${spec.mode}`);
    }
  }
  return failures;
}

function loadCases(): ConformanceCase[] {
  if (!existsSync(casesDir)) throw new Error(`MCTF conformance cases not found at ${casesDir}; set TOKENSCOPE_CONFORMANCE_CASES`);
  return readdirSync(casesDir)
    .filter((f) => /^case\d+\.json$/.test(f))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(casesDir, f), 'utf8')) as ConformanceCase);
}

describe('mctf conformance', () => {
  for (const c of loadCases()) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runMctfCase(c));
      expect(compareCase(c, outputs)).toEqual([]);
    });
  }
});
