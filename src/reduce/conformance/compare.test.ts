import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseFilePath, comparePyPath, conformanceCasesDir, loadCases } from '../../../tests/helpers/conformance';
import { readCaseText } from '../../cli/conformance';
import { TokenScopeError } from '../../errors';
import type { ConformanceCase } from './case';
import { compareCase, encodeOutputs, formatCaseLine, formatG, formatSummary, parseReferenceCase, type CaseComparison, type ReferenceCase } from './compare';

type Spec = ReferenceCase['compare'][string];

/** A one-field reference case. */
function one(value: unknown, spec: Spec, tieDependent = false): ReferenceCase {
  return { outputs: { f: value }, compare: { f: spec }, tie_dependent: tieDependent ? ['f'] : undefined };
}

const FLOAT: Spec = { mode: 'float', required: true };
const EXACT: Spec = { mode: 'exact', required: true };
const SET: Spec = { mode: 'set', required: true };
const ERROR: Spec = { mode: 'error', required: true };

function statusOf(reference: ReferenceCase, candidateOutputs: Record<string, unknown>, strictTies = false): string {
  return compareCase(reference, { outputs: candidateOutputs }, { strictTies }).status;
}

describe('compareCase, float mode', () => {
  it('compareCase passes floats within 1e-4 and reports the max abs error', () => {
    const cmp = compareCase(
      one(
        [
          [1, 2],
          [3, 4],
        ],
        FLOAT,
      ),
      {
        outputs: {
          f: [
            [1.00005, 2],
            [3, 3.99999],
          ],
        },
      },
    );
    expect(cmp.status).toBe('PASS');
    expect(cmp.maxAbsErr).toBeCloseTo(5e-5, 9);
    expect([cmp.checked, cmp.skipped]).toEqual([1, 0]);
  });

  it('compareCase fails floats beyond 1e-4, naming the flat index, and still reports the error', () => {
    const cmp = compareCase(
      one(
        [
          [1, 2],
          [3, 4],
        ],
        FLOAT,
      ),
      {
        outputs: {
          f: [
            [1, 2],
            [3, 4.0002],
          ],
        },
      },
    );
    expect(cmp.status).toBe('FAIL');
    expect(cmp.failures).toHaveLength(1);
    expect(cmp.failures[0].field).toBe('f');
    expect(cmp.failures[0].reason).toMatch(/^max abs err 0\.0002 > tol at flat index 3 \(ref 4, cand 4\.0002\)$/);
    expect(cmp.maxAbsErr).toBeCloseTo(2e-4, 9);
  });

  it('compareCase honours a custom tol', () => {
    expect(compareCase(one([1], FLOAT), { outputs: { f: [1.001] } }, { tol: 1e-2 }).status).toBe('PASS');
  });

  it('compareCase matches null only with null', () => {
    expect(statusOf(one(null, FLOAT), { f: null })).toBe('PASS');
    expect(statusOf(one(null, FLOAT), { f: [1] })).toBe('FAIL');
    expect(statusOf(one([1], FLOAT), { f: null })).toBe('FAIL');
  });

  it('compareCase fails a float field of another shape, or a ragged one', () => {
    const cmp = compareCase(one([[1, 2]], FLOAT), { outputs: { f: [1, 2] } });
    expect(cmp.failures[0].reason).toBe('shape [1, 2] vs candidate [2]');
    expect(
      statusOf(
        one(
          [
            [1, 2],
            [3, 4],
          ],
          FLOAT,
        ),
        { f: [[1, 2], [3]] },
      ),
    ).toBe('FAIL');
    expect(statusOf(one(2.5, FLOAT), { f: [2.5] })).toBe('FAIL');
  });

  it('compareCase treats "NaN" / "Infinity" strings as non-finite values that must match', () => {
    const ref = one(['NaN', 'Infinity', '-Infinity', 1], FLOAT);
    expect(statusOf(ref, { f: ['NaN', 'Infinity', '-Infinity', 1] })).toBe('PASS');
    expect(statusOf(ref, { f: [Number.NaN, Infinity, -Infinity, 1] })).toBe('PASS');
    expect(statusOf(ref, { f: ['NaN', 1e308, '-Infinity', 1] })).toBe('FAIL');
    expect(statusOf(ref, { f: ['NaN', 'Infinity', 'Infinity', 1] })).toBe('FAIL');
    expect(statusOf(one([1], FLOAT), { f: ['NaN'] })).toBe('FAIL');
  });

  it('compareCase fails booleans or other strings where floats are expected', () => {
    expect(compareCase(one([1, 0], FLOAT), { outputs: { f: [true, 0] } }).failures[0].reason).toMatch(/non-number True at flat index 0/);
    expect(statusOf(one([1], FLOAT), { f: ['1'] })).toBe('FAIL');
  });
});

describe('compareCase, exact mode', () => {
  it('compareCase passes equal integers and fails with the index path of the first difference', () => {
    expect(
      statusOf(
        one(
          [
            [0, 1],
            [2, 3],
          ],
          EXACT,
        ),
        {
          f: [
            [0, 1],
            [2, 3],
          ],
        },
      ),
    ).toBe('PASS');
    const cmp = compareCase(
      one(
        [
          [0, 1],
          [2, 3],
        ],
        EXACT,
      ),
      {
        outputs: {
          f: [
            [0, 1],
            [4, 3],
          ],
        },
      },
    );
    expect(cmp.failures[0].reason).toBe('[1][0]: 2 vs 4');
  });

  it('compareCase fails a different length or a list against a scalar', () => {
    expect(compareCase(one([1, 2], EXACT), { outputs: { f: [1, 2, 3] } }).failures[0].reason).toBe('length 2 vs candidate 3');
    expect(statusOf(one(3, EXACT), { f: [3] })).toBe('FAIL');
  });

  it('compareCase compares booleans by truthiness, as compare.py does (True matches 1, False does not match null)', () => {
    expect(statusOf(one(true, EXACT), { f: true })).toBe('PASS');
    expect(statusOf(one(true, EXACT), { f: 1 })).toBe('PASS');
    expect(statusOf(one(true, EXACT), { f: false })).toBe('FAIL');
    expect(statusOf(one(false, EXACT), { f: null })).toBe('FAIL');
    expect(statusOf(one(null, EXACT), { f: null })).toBe('PASS');
  });

  it('compareCase in exact mode does not reorder', () => {
    expect(statusOf(one([[1, 2, 3]], EXACT), { f: [[3, 2, 1]] })).toBe('FAIL');
  });
});

describe('compareCase, set mode', () => {
  it('compareCase ignores the order of the last axis', () => {
    expect(
      statusOf(
        one(
          [
            [3, 1, 2],
            [5, 4],
          ],
          SET,
        ),
        {
          f: [
            [1, 2, 3],
            [4, 5],
          ],
        },
      ),
    ).toBe('PASS');
  });

  it('compareCase fails a different set, or a set moved to another row', () => {
    expect(statusOf(one([[1, 2, 3]], SET), { f: [[1, 2, 2]] })).toBe('FAIL');
    expect(
      statusOf(
        one(
          [
            [1, 2],
            [3, 4],
          ],
          SET,
        ),
        {
          f: [
            [3, 4],
            [1, 2],
          ],
        },
      ),
    ).toBe('FAIL');
    expect(statusOf(one(null, SET), { f: null })).toBe('PASS');
    expect(statusOf(one([[1, 2]], SET), { f: null })).toBe('FAIL');
  });

  it('compareCase fails a set whose values cannot be ordered instead of throwing', () => {
    expect(statusOf(one([[1, 2]], SET), { f: [[1, 'a']] })).toBe('FAIL');
  });
});

describe('compareCase, rows_by mode', () => {
  // Row 0 is fixed; rows 1..3 belong to the tokens named by idx[b][j].
  const spec = (values: 'float' | 'int'): Spec => ({ mode: 'rows_by', required: true, values, spans: [{ key: 'idx', start: 1 }] });
  const reference = (values: 'float' | 'int'): ReferenceCase => ({
    outputs: { idx: [[2, 0, 1]], x: [[[9], [20], [0], [10]]] },
    compare: { idx: SET, x: spec(values) },
  });

  it('compareCase passes rows listed in another order when the candidate key says so', () => {
    expect(statusOf(reference('float'), { idx: [[0, 1, 2]], x: [[[9], [0], [10], [20.00001]]] })).toBe('PASS');
    expect(statusOf(reference('int'), { idx: [[1, 2, 0]], x: [[[9], [10], [20], [0]]] })).toBe('PASS');
  });

  it('compareCase fails rows that do not follow the candidate key', () => {
    const cmp = compareCase(reference('float'), { outputs: { idx: [[0, 1, 2]], x: [[[9], [20], [0], [10]]] } });
    expect(cmp.status).toBe('FAIL');
    expect(cmp.failures.map((f) => f.field)).toEqual(['x']);
    expect(statusOf(reference('int'), { idx: [[0, 1, 2]], x: [[[9], [0], [10], [21]]] })).toBe('FAIL');
  });

  it('compareCase fails rows outside the span that moved', () => {
    expect(statusOf(reference('float'), { idx: [[2, 0, 1]], x: [[[20], [9], [0], [10]]] })).toBe('FAIL');
  });

  it('compareCase fails a rows_by field whose key field is missing, even when tie-dependent', () => {
    const ref: ReferenceCase = { ...reference('float'), compare: { x: spec('float') }, tie_dependent: ['x'] };
    const cmp = compareCase(ref, { outputs: { x: [[[9], [20], [0], [10]]] } });
    expect(cmp.status).toBe('FAIL');
    expect(cmp.failures[0].reason).toBe("rows_by needs key field(s) ['idx'] in candidate");
  });

  it('compareCase fails a span longer than the rows', () => {
    expect(statusOf(reference('float'), { idx: [[0, 1, 2, 3]], x: [[[9], [0], [10], [20]]] })).toBe('FAIL');
  });
});

describe('compareCase, error mode', () => {
  const ref = one('IndexError: max(): Expected reduction dim 2 to have non-zero size.', ERROR);

  it('compareCase passes any non-empty message or true', () => {
    expect(statusOf(ref, { f: 'param-out-of-range: r = 0' })).toBe('PASS');
    expect(statusOf(ref, { f: true })).toBe('PASS');
  });

  it('compareCase fails an empty message, false, 0, null or a missing field', () => {
    for (const f of ['', false, 0, null]) expect(statusOf(ref, { f })).toBe('FAIL');
    expect(compareCase(ref, { outputs: {} }).failures[0].reason).toBe('not in candidate');
  });
});

describe('compareCase, fields and statuses', () => {
  const reference: ReferenceCase = {
    outputs: { a: [1, 2], b: [0.5], c: [[1, 2]] },
    compare: { a: { mode: 'exact', required: true }, b: { mode: 'float', required: false }, c: { mode: 'exact', required: true } },
    tie_dependent: ['c'],
  };

  it('compareCase skips a missing optional field and fails a missing required one', () => {
    const skipped = compareCase(reference, { outputs: { a: [1, 2], c: [[1, 2]] } });
    expect([skipped.status, skipped.checked, skipped.skipped]).toEqual(['PASS', 2, 1]);
    const missing = compareCase(reference, { outputs: { b: [0.5], c: [[1, 2]] } });
    expect(missing.status).toBe('FAIL');
    expect(missing.failures).toEqual([{ field: 'a', reason: 'not in candidate' }]);
  });

  it('compareCase gives PASS(TIE) for a mismatch in a tie-dependent field, FAIL with strictTies', () => {
    const cand = { a: [1, 2], c: [[2, 1]] };
    const cmp = compareCase(reference, { outputs: cand });
    expect(cmp.status).toBe('PASS(TIE)');
    expect(cmp.ties.map((t) => t.field)).toEqual(['c']);
    expect(cmp.failures).toEqual([]);
    expect(statusOf(reference, cand, true)).toBe('FAIL');
  });

  it('compareCase fails a missing tie-dependent field, and any other failure beside a tie', () => {
    expect(statusOf(reference, { a: [1, 2] })).toBe('FAIL');
    expect(statusOf(reference, { a: [1, 3], c: [[2, 1]] })).toBe('FAIL');
  });

  it('compareCase reads outputs at top level, or under "outputs" only when that is an object', () => {
    expect(compareCase(reference, { a: [1, 2], c: [[1, 2]], extra: 'ignored' }).status).toBe('PASS');
    expect(compareCase(reference, { outputs: [1], a: [1, 2], c: [[1, 2]] }).status).toBe('PASS');
    expect(compareCase(reference, { outputs: { a: [1, 2] }, c: [[1, 2]] }).status).toBe('FAIL');
  });

  it('compareCase defaults a spec without mode to float and without required to required', () => {
    const ref: ReferenceCase = { outputs: { f: [1] }, compare: { f: {} as Spec } };
    expect(compareCase(ref, { outputs: { f: [1.00001] } }).status).toBe('PASS');
    expect(compareCase(ref, { outputs: {} }).status).toBe('FAIL');
  });

  it('compareCase fails an unknown compare mode', () => {
    expect(compareCase(one(1, { mode: 'fuzzy' }), { outputs: { f: 1 } }).failures[0].reason).toBe('unknown compare mode "fuzzy"');
  });
});

describe('encodeOutputs', () => {
  it('encodeOutputs writes non-finite numbers as the strings of the case format and typed arrays as lists', () => {
    expect(encodeOutputs({ a: [Number.NaN, Infinity, -Infinity, 1.5], b: Float32Array.from([0.5, 2]), c: undefined, d: { e: true } })).toEqual({
      a: ['NaN', 'Infinity', '-Infinity', 1.5],
      b: [0.5, 2],
      d: { e: true },
    });
  });

  it('encodeOutputs rejects values that are not plain data, naming the field', () => {
    class FakeTensor {}
    let caught: unknown;
    try {
      encodeOutputs({ x: [[1], new FakeTensor()] });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TokenScopeError);
    expect((caught as TokenScopeError).code).toBe('data-malformed');
    expect((caught as TokenScopeError).message).toMatch(/^outputs\.x\[1\] is a FakeTensor/);
  });
});

describe('parseReferenceCase', () => {
  it('parseReferenceCase accepts a minimal case and rejects one without a compare spec', () => {
    const good = parseReferenceCase({ method: 'm', case: 'case01', outputs: {}, compare: { a: { mode: 'exact' } } }, 'x.json');
    expect(good.ok).toBe(true);
    const bad = parseReferenceCase({ method: 'm', case: 'case01', outputs: {} }, 'x.json');
    expect(bad.ok ? '' : bad.error.message).toBe('x.json is not a conformance case: "compare" should be an object');
  });
});

describe('report formatting', () => {
  it("formatG matches Python's %g", () => {
    const cases: [number, number, string][] = [
      [0, 3, '0'],
      [1.16e-7, 3, '1.16e-07'],
      [5.33, 3, '5.33'],
      [0.0001, 3, '0.0001'],
      [123456, 3, '1.23e+05'],
      [0.5, 3, '0.5'],
      [1e-5, 3, '1e-05'],
      [5.000000000000004e-5, 3, '5e-05'],
      [99999.5, 3, '1e+05'],
      [0.00012345, 3, '0.000123'],
      [1e-4, 6, '0.0001'],
      [1e-7, 6, '1e-07'],
    ];
    for (const [x, p, want] of cases) expect(formatG(x, p)).toBe(want);
  });

  it('formatCaseLine and formatSummary print like compare.py', () => {
    const cmp: CaseComparison = { status: 'PASS', maxAbsErr: 1.16e-7, checked: 8, skipped: 0, failures: [], ties: [], fields: [] };
    expect(formatCaseLine('evit/case01', 'small', cmp)).toBe('evit/case01        PASS      max_abs_err=1.16e-07  checked=8 skipped=0  small');
    expect(formatSummary({ PASS: 3, FAIL: 1 }, 1e-4)).toBe('summary: FAIL=1, PASS=3 (tol=0.0001)');
  });
});

// ---------------------------------------------------------------------------------------------
// The official cases: their own outputs must pass, corrupted copies must not, and compare.py
// must agree with every verdict.

type Path = number[];

/** Path to the first number or boolean in a nested value ([] for a scalar), or null if none. */
function firstLeaf(v: unknown, path: Path = []): Path | null {
  if (typeof v === 'number' || typeof v === 'boolean') return path;
  if (!Array.isArray(v)) return null;
  for (let i = 0; i < v.length; i++) {
    const p = firstLeaf(v[i], [...path, i]);
    if (p) return p;
  }
  return null;
}

/** A copy of `v` with the element at `path` replaced by f(element). */
function updateAt(v: unknown, path: Path, f: (element: unknown) => unknown): unknown {
  if (path.length === 0) return f(v);
  const copy = [...(v as unknown[])];
  copy[path[0]] = updateAt(copy[path[0]], path.slice(1), f);
  return copy;
}

/** The first list of numbers that reversing changes, as a path, or null. */
function firstOrderedList(v: unknown, path: Path = []): Path | null {
  if (!Array.isArray(v)) return null;
  if (v.every((e) => typeof e === 'number') && v.some((e, i) => e !== v[v.length - 1 - i])) return path;
  for (let i = 0; i < v.length; i++) {
    const p = firstOrderedList(v[i], [...path, i]);
    if (p) return p;
  }
  return null;
}

function reverseLastAxis(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  if (v.length > 0 && Array.isArray(v[0])) return v.map(reverseLastAxis);
  return [...v].reverse();
}

function swap<T>(xs: T[], i: number, j: number): T[] {
  const copy = [...xs];
  [copy[i], copy[j]] = [copy[j], copy[i]];
  return copy;
}

/** What a variant must do to its field: stay OK, be skipped, or break (DIFF / MISSING). */
type Expect = 'ok' | 'skip' | 'broken';

interface Variant {
  /** File name stem: caseNN__field__kind. */
  name: string;
  reference: ConformanceCase;
  candidate: Record<string, unknown>;
  field: string | null;
  expect: Expect;
  /** compare.py raises (a TypeError) on this candidate instead of giving a verdict; we report FAIL. */
  crashesComparePy: boolean;
}

function rowsBySpans(spec: Spec): { key: string; start: number }[] {
  return Array.isArray(spec.spans) ? (spec.spans as { key: string; start?: number }[]).map((s) => ({ key: s.key, start: s.start ?? 0 })) : [];
}

/** Corrupted (and harmlessly changed) copies of a case's official outputs, one field at a time. */
function variantsOf(c: ConformanceCase, thorough: boolean): Variant[] {
  const out = c.outputs;
  const variants: Variant[] = [];
  let n = 0;
  // Fields other fields' rows are keyed on: compare.py indexes into them without checking.
  const keyFields = new Set(Object.values(c.compare).flatMap((spec) => (spec.mode === 'rows_by' ? rowsBySpans(spec).map((s) => s.key) : [])));
  const add = (field: string | null, kind: string, outputs: Record<string, unknown>, expect: Expect): void => {
    // Alternate between {"outputs": {...}} and outputs at top level.
    const candidate = n++ % 2 === 0 ? { outputs } : { ...outputs };
    const crashesComparePy = kind === 'null' && field !== null && keyFields.has(field);
    variants.push({ name: `${c.case}__${field ?? 'all'}__${kind}`, reference: c, candidate, field, expect, crashesComparePy });
  };
  const change = (field: string, value: unknown): Record<string, unknown> => ({ ...out, [field]: value });

  add(null, 'official', { ...out }, 'ok');
  for (const [field, spec] of Object.entries(c.compare)) {
    if (!(field in out)) continue;
    const v = out[field];
    const leaf = firstLeaf(v);
    const mode = spec.mode;
    const isFloat = mode === 'float' || (mode === 'rows_by' && (spec.values ?? 'float') === 'float');
    if (!thorough) {
      if (mode === 'float' && leaf && leaf.length > 0) {
        add(
          field,
          'nudge',
          change(
            field,
            updateAt(v, leaf, (x) => (x as number) + 5e-5),
          ),
          'ok',
        );
        add(
          field,
          'shift',
          change(
            field,
            updateAt(v, leaf, (x) => (x as number) + 1e-3),
          ),
          'broken',
        );
        return variants;
      }
      continue;
    }
    add(field, 'drop', Object.fromEntries(Object.entries(out).filter(([k]) => k !== field)), spec.required === false ? 'skip' : 'broken');
    add(field, 'null', change(field, v === null ? [] : null), 'broken');
    if (mode === 'error') {
      add(field, 'empty', change(field, ''), 'broken');
      add(field, 'true', change(field, true), 'ok');
      continue;
    }
    if (leaf) {
      if (isFloat) {
        add(
          field,
          'nudge',
          change(
            field,
            updateAt(v, leaf, (x) => (x as number) + 5e-5),
          ),
          'ok',
        );
        add(
          field,
          'shift',
          change(
            field,
            updateAt(v, leaf, (x) => (x as number) + 1e-3),
          ),
          'broken',
        );
        add(
          field,
          'nan',
          change(
            field,
            updateAt(v, leaf, () => 'NaN'),
          ),
          'broken',
        );
      } else {
        add(
          field,
          'shift',
          change(
            field,
            updateAt(v, leaf, (x) => (typeof x === 'boolean' ? !x : (x as number) + 1)),
          ),
          'broken',
        );
      }
    }
    if (Array.isArray(v) && leaf && leaf.length > 0) {
      // Drop the last element of the innermost list holding the first leaf: a shape change.
      add(
        field,
        'truncate',
        change(
          field,
          updateAt(v, leaf.slice(0, -1), (list) => (list as unknown[]).slice(0, -1)),
        ),
        'broken',
      );
    }
    const ordered = firstOrderedList(v);
    if (mode === 'set') add(field, 'reverse', change(field, reverseLastAxis(v)), 'ok');
    else if (mode === 'exact' && ordered)
      add(
        field,
        'reverse',
        change(
          field,
          updateAt(v, ordered, (list) => [...(list as unknown[])].reverse()),
        ),
        'broken',
      );
    if (mode === 'rows_by') {
      const [span] = rowsBySpans(spec);
      const keys = (out[span.key] as number[][] | null)?.[0];
      const rows = (v as unknown[][] | null)?.[0];
      if (keys && rows && keys.length >= 2 && keys[0] !== keys[1]) {
        // Same permutation of rows and of the key (and of every field keyed on it): still OK.
        const consistent: Record<string, unknown> = { ...out, [span.key]: [swap(keys, 0, 1), ...(out[span.key] as unknown[]).slice(1)] };
        for (const [other, otherSpec] of Object.entries(c.compare)) {
          if (otherSpec.mode !== 'rows_by' || !Array.isArray(out[other])) continue;
          const s = rowsBySpans(otherSpec)[0];
          if (s.key !== span.key) continue;
          const blocks = out[other] as unknown[][];
          consistent[other] = [swap(blocks[0], s.start, s.start + 1), ...blocks.slice(1)];
        }
        add(field, 'permute', consistent, 'ok');
        if (JSON.stringify(rows[span.start]) !== JSON.stringify(rows[span.start + 1])) {
          add(field, 'misalign', change(field, [swap(rows, span.start, span.start + 1), ...(v as unknown[][]).slice(1)]), 'broken');
        }
      }
    }
  }
  return variants;
}

const casesRoot = conformanceCasesDir();
const methods = readdirSync(casesRoot)
  .filter((d) => statSync(join(casesRoot, d)).isDirectory())
  .sort();
const SMALL_BYTES = 100_000;
const allVariants: Variant[] = [];
for (const method of methods) {
  for (const c of loadCases(method)) {
    const bytes = Buffer.byteLength(readCaseText(caseFilePath(method, c.case))); // uncompressed
    allVariants.push(...variantsOf(c, bytes < SMALL_BYTES));
  }
}
const idOf = (v: Variant): string => `${v.reference.method}/${v.name}`;

describe('compareCase on the official cases', () => {
  it(`compareCase passes every official case against its own outputs (${methods.join(', ')})`, () => {
    const official = allVariants.filter((v) => v.field === null);
    expect(official.length).toBeGreaterThan(50);
    for (const v of official) {
      const cmp = compareCase(v.reference, v.candidate);
      expect({ id: idOf(v), status: cmp.status, failures: cmp.failures }).toEqual({ id: idOf(v), status: 'PASS', failures: [] });
      expect(cmp.checked + cmp.skipped).toBe(Object.keys(v.reference.compare).length);
    }
  });

  it('compareCase fails every corrupted copy (PASS(TIE) only for tie-dependent fields) and passes harmless changes', () => {
    let broken = 0;
    for (const v of allVariants) {
      if (v.field === null) continue;
      const cmp = compareCase(v.reference, v.candidate);
      const field = cmp.fields.find((f) => f.field === v.field);
      const id = idOf(v);
      if (v.expect === 'ok') {
        expect({ id, verdict: field?.verdict }).toEqual({ id, verdict: 'OK' });
      } else if (v.expect === 'skip') {
        expect({ id, verdict: field?.verdict }).toEqual({ id, verdict: 'SKIP' });
      } else {
        broken++;
        expect({ id, broken: field?.verdict === 'DIFF' || field?.verdict === 'MISSING' }).toEqual({ id, broken: true });
        const tie = (v.reference.tie_dependent ?? []).includes(v.field) && field?.verdict === 'DIFF';
        expect({ id, status: cmp.status }).toEqual({ id, status: tie ? cmp.status : 'FAIL' });
        expect({ id, passes: cmp.status === 'PASS' }).toEqual({ id, passes: false });
        expect({ id, strict: compareCase(v.reference, v.candidate, { strictTies: true }).status }).toEqual({ id, strict: 'FAIL' });
      }
    }
    expect(broken).toBeGreaterThan(500);
    // Where compare.py would crash (a null key field), we still give a verdict, and not PASS.
    const crashing = allVariants.filter((v) => v.crashesComparePy);
    expect(crashing.length).toBeGreaterThan(0);
    for (const v of crashing) {
      const cmp = compareCase(v.reference, v.candidate, { strictTies: true });
      expect({ id: idOf(v), status: cmp.status }).toEqual({ id: idOf(v), status: 'FAIL' });
    }
  });
});

// compare.py is the tie-breaker: run it on the same files and require identical verdicts.
const python = spawnSync('python3', ['--version'], { encoding: 'utf8', timeout: 10_000 });
const havePython = !python.error && python.status === 0;

interface PyCaseReport {
  case: string;
  status: string;
  max_abs_err?: number;
  checked?: number;
  skipped?: number;
  details?: string[];
}

describe.skipIf(!havePython)('compareCase agrees with compare.py (python3)', () => {
  const work = mkdtempSync(join(tmpdir(), 'tokenscope-compare-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const variants = allVariants.filter((v) => !v.crashesComparePy);

  /** Lays out reference (symlinks to the real case files) and candidate folders as compare.py reads them. */
  function writeVariants(dir: string, vs: Variant[]): { refDir: string; candDir: string } {
    const refDir = join(work, dir, 'ref');
    const candDir = join(work, dir, 'cand');
    for (const v of vs) {
      const method = v.reference.method;
      mkdirSync(join(refDir, method), { recursive: true });
      mkdirSync(join(candDir, method), { recursive: true });
      const source = caseFilePath(method, v.reference.case);
      symlinkSync(source, join(refDir, method, `${v.name}${source.endsWith('.gz') ? '.json.gz' : '.json'}`));
      writeFileSync(join(candDir, method, `${v.name}.json`), JSON.stringify(v.candidate));
    }
    return { refDir, candDir };
  }

  function runComparePy(refDir: string, candDir: string, strictTies: boolean): Map<string, PyCaseReport> {
    const report = join(work, `report-${strictTies ? 'strict' : 'default'}.json`);
    const args = [comparePyPath(), candDir, '--ref', refDir, '--json', report, ...(strictTies ? ['--strict-ties'] : [])];
    const run = spawnSync('python3', args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 256 * 1024 * 1024 });
    if (run.error) throw run.error;
    // A Python exception also exits 1, so require a clean stderr too.
    expect({ status: run.status === 0 || run.status === 1, stderr: run.stderr }).toEqual({ status: true, stderr: '' });
    const parsed = JSON.parse(readFileSync(report, 'utf8')) as { cases: PyCaseReport[] };
    return new Map(parsed.cases.map((c) => [c.case, c]));
  }

  /** Field names compare.py lists under a case ("FAIL  name  why" / "TIE   name  why"). */
  const pyFields = (details: string[] | undefined, kind: 'FAIL' | 'TIE'): string[] =>
    (details ?? []).filter((d) => d.startsWith(`${kind} `)).map((d) => d.split(/\s+/)[1]);

  function expectSameVerdicts(vs: Variant[], py: Map<string, PyCaseReport>, strictTies: boolean): void {
    expect(py.size).toBe(vs.length);
    for (const v of vs) {
      const id = idOf(v);
      const cmp = compareCase(v.reference, v.candidate, { strictTies });
      const p = py.get(id);
      expect({ id, strictTies, status: cmp.status, maxAbsErr: cmp.maxAbsErr, checked: cmp.checked, skipped: cmp.skipped }).toEqual({
        id,
        strictTies,
        status: p?.status,
        maxAbsErr: p?.max_abs_err,
        checked: p?.checked,
        skipped: p?.skipped,
      });
      expect({ id, fail: cmp.failures.map((f) => f.field), tie: cmp.ties.map((f) => f.field) }).toEqual({
        id,
        fail: pyFields(p?.details, 'FAIL'),
        tie: pyFields(p?.details, 'TIE'),
      });
    }
  }

  it("compareCase gives compare.py's status, checked, skipped, max_abs_err and failing fields on every variant", () => {
    const { refDir, candDir } = writeVariants('default', variants);
    expectSameVerdicts(variants, runComparePy(refDir, candDir, false), false);
  });

  it('compareCase with strictTies agrees with compare.py --strict-ties on the tie cases', () => {
    const tieVariants = variants.filter((v) => (v.reference.tie_dependent ?? []).length > 0);
    expect(tieVariants.length).toBeGreaterThan(20);
    const { refDir, candDir } = writeVariants('strict', tieVariants);
    expectSameVerdicts(tieVariants, runComparePy(refDir, candDir, true), true);
  });
});
