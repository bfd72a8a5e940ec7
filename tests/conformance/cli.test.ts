/**
 * `tokenscope conformance`, run in-process.
 *
 * - Real runner: the EViT cases (a temp copy of the bundled, gzipped tests/fixtures/conformance/
 *   cases/evit) through main(['conformance', …]), i.e. caseRunners.evit from
 *   src/reduce/conformance/index.ts; the written files must compare PASS (compareCase, and
 *   compare.py when python3 is here). Also the default: the bundled cases with no folder given.
 * - Fake runners: a tiny hand-made cases folder (plain .json, and the same gzipped) with runners
 *   injected through createConformanceCommand, for what the real runners cannot show (a runner
 *   that throws, a stale file, non-finite values, a failing comparison, bad arguments).
 * - The test helpers loadCases / expectCaseToConform.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BUNDLED_CASES_DIR, caseNameOf, createConformanceCommand, parseConformanceArgs } from '../../src/cli/conformance';
import { main } from '../../src/cli/main';
import { TokenScopeError } from '../../src/errors';
import type { CaseRunner, ConformanceCase } from '../../src/reduce/conformance/case';
import { compareCase } from '../../src/reduce/conformance/compare';
import { comparePyPath, conformanceCasesDir, expectCaseToConform, loadCases } from '../helpers/conformance';

const work = mkdtempSync(join(tmpdir(), 'tokenscope-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const python = spawnSync('python3', ['--version'], { encoding: 'utf8', timeout: 10_000 });
const havePython = !python.error && python.status === 0;

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** Runs compare.py on an output folder against a reference folder; returns its exit status and stdout. */
function comparePy(outDir: string, refDir: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('python3', [comparePyPath(), outDir, '--ref', refDir], { encoding: 'utf8', timeout: 120_000 });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

// The method whose real runner this file exercises.
const METHOD = 'evit';

describe(`main conformance on a copy of the official ${METHOD} cases (real runner)`, () => {
  const casesDir = join(work, 'real-cases');
  const outDir = join(work, 'real-out');
  let code = -1;
  let lines: string[] = [];

  beforeAll(async () => {
    cpSync(join(conformanceCasesDir(), METHOD), join(casesDir, METHOD), { recursive: true });
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      code = await main(['conformance', casesDir, outDir, '--check']);
      lines = log.mock.calls.map((args) => args.map(String).join(' '));
    } finally {
      log.mockRestore();
    }
  });

  it(`main conformance --check exits 0 and prints a PASS line per ${METHOD} case and a summary`, () => {
    const n = loadCases(METHOD).length;
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.filter((l) => l.startsWith(`${METHOD}/case`) && / PASS /.test(l))).toHaveLength(n);
    expect(lines.at(-1)).toBe(`summary: PASS=${n} (tol=0.0001)`);
  });

  it('main conformance writes {"outputs": …} files that compareCase passes', () => {
    for (const c of loadCases(METHOD)) {
      const written = readJson(join(outDir, METHOD, `${c.case}.json`));
      expect(Object.keys(written)).toEqual(['outputs']);
      expect({ case: c.case, status: compareCase(c, written).status }).toEqual({ case: c.case, status: 'PASS' });
    }
  });

  it.skipIf(!havePython)('main conformance writes files that compare.py passes', () => {
    const py = comparePy(outDir, casesDir);
    expect(py.stderr).toBe('');
    expect(py.status, py.stdout).toBe(0);
    expect(py.stdout).toContain(`summary: PASS=${loadCases(METHOD).length} (tol=0.0001)`);
  });
});

describe('main conformance with no cases folder (the bundled cases)', () => {
  it('parseConformanceArgs defaults to the bundled cases, checks, and writes nothing without an output folder', () => {
    expect(parseConformanceArgs([])).toMatchObject({ ok: true, value: { casesDir: BUNDLED_CASES_DIR, outDir: null, check: true, methods: null } });
    expect(parseConformanceArgs(['--out', 'o'])).toMatchObject({ ok: true, value: { casesDir: BUNDLED_CASES_DIR, outDir: 'o', check: false } });
    expect(parseConformanceArgs(['cases', 'o', '--check'])).toMatchObject({ ok: true, value: { casesDir: 'cases', outDir: 'o', check: true } });
    expect(parseConformanceArgs(['cases'])).toMatchObject({ ok: true, value: { casesDir: 'cases', outDir: null, check: true } });
  });

  it(`main conformance --methods ${METHOD} checks the bundled ${METHOD} cases and passes them all`, async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    let code: number;
    let lines: string[];
    try {
      code = await main(['conformance', '--methods', METHOD]);
      lines = log.mock.calls.map((args) => args.map(String).join(' '));
    } finally {
      log.mockRestore();
    }
    const n = readdirSync(join(BUNDLED_CASES_DIR, METHOD)).filter((f) => f.endsWith('.json.gz')).length;
    expect(n).toBeGreaterThan(5);
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.filter((l) => l.startsWith(`${METHOD}/case`) && / PASS /.test(l))).toHaveLength(n);
    expect(lines.at(-1)).toBe(`summary: PASS=${n} (tol=0.0001)`);
  });

  it('the bundled cases are those of the implemented methods (and DiffRate schedules), gzipped, with their provenance index', () => {
    const methods = readdirSync(BUNDLED_CASES_DIR)
      .filter((f) => !f.includes('.'))
      .sort();
    expect(methods).toEqual(['atc', 'ats', 'diffrate', 'diffrate_schedule', 'evit', 'gtp', 'mctf', 'pitome', 'ppt', 'tome', 'tome_parse_r']);
    const index = readJson(join(BUNDLED_CASES_DIR, 'INDEX.json')) as { methods: Record<string, { case: string }[]>; sources: Record<string, { commit: string }> };
    expect(Object.keys(index.methods).sort()).toEqual(methods);
    for (const m of methods) {
      const files = readdirSync(join(BUNDLED_CASES_DIR, m));
      expect(files.every((f) => /^case\d\d\.json\.gz$/.test(f))).toBe(true);
      expect(files.map(caseNameOf).sort()).toEqual(index.methods[m].map((c) => c.case).sort());
      for (const c of loadCases(m)) expect(c.method).toBe(m);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A tiny cases folder and fake runners.

/** A hand-made case: the runner must return x doubled (float), its row argmax (exact) and the kept rows in any order. */
function fakeCase(name: string, x: number[][], title: string): Record<string, unknown> {
  const doubled = x.map((row) => row.map((v) => 2 * v));
  const argmax = x.map((row) => row.indexOf(Math.max(...row)));
  return {
    method: 'fake',
    case: name,
    title,
    params: {},
    inputs: { x },
    outputs: { doubled, argmax: [argmax], order: [x.map((_, i) => i)], rows: [x], ratio: 'NaN' },
    compare: {
      doubled: { mode: 'float', required: true },
      argmax: { mode: 'exact', required: true },
      order: { mode: 'set', required: true },
      rows: { mode: 'rows_by', required: true, values: 'float', spans: [{ key: 'order', start: 0 }] },
      ratio: { mode: 'float', required: true },
      extra: { mode: 'exact', required: false },
    },
  };
}

/** An honest fake method: computes the outputs from the inputs (rows listed in reverse, with the matching order). */
const fakeRunner: CaseRunner = (c: ConformanceCase) => {
  const x = c.inputs.x as number[][];
  const reversed = x.map((_, i) => x.length - 1 - i);
  return {
    doubled: x.map((row) => Float32Array.from(row, (v) => 2 * v)),
    argmax: [x.map((row) => row.indexOf(Math.max(...row)))],
    order: [reversed],
    rows: [reversed.map((i) => x[i])],
    ratio: Number.NaN,
  };
};

/** A method whose runner is still a placeholder. */
const throwingRunner: CaseRunner = () => {
  throw new Error('broken: not implemented yet');
};

/** A method that runs but gets the float output wrong. */
const wrongRunner: CaseRunner = (c) => ({ ...fakeRunner(c), doubled: c.inputs.x });

function writeFakeCases(dir: string, gzip = false): void {
  const cases: [string, string, number[][], string][] = [
    [
      'fake',
      'case01',
      [
        [1, 5, 2],
        [7, 0, 3],
      ],
      'two rows',
    ],
    ['fake', 'case02', [[0.25, -1, 4]], 'one row'],
    ['broken', 'case01', [[1]], 'runner throws'],
    ['wrong', 'case01', [[1, 2]], 'runner wrong'],
  ];
  for (const [method, name, x, title] of cases) {
    mkdirSync(join(dir, method), { recursive: true });
    const text = JSON.stringify({ ...fakeCase(name, x, title), method });
    if (gzip) writeFileSync(join(dir, method, `${name}.json.gz`), gzipSync(text));
    else writeFileSync(join(dir, method, `${name}.json`), text);
  }
}

describe('the conformance command with fake runners', () => {
  const casesDir = join(work, 'fake-cases');
  writeFakeCases(casesDir);
  let lines: string[] = [];
  const command = createConformanceCommand({
    runners: { fake: fakeRunner, broken: throwingRunner, wrong: wrongRunner },
    print: (line) => lines.push(line),
  });
  afterEach(() => {
    lines = [];
  });

  it('run writes {"outputs": …} with non-finite numbers as strings and typed arrays as lists, one OK line per case', async () => {
    const outDir = join(work, 'fake-out-plain');
    expect(await command.run([casesDir, outDir, '--methods', 'fake'])).toBe(0);
    expect(readJson(join(outDir, 'fake', 'case02.json'))).toEqual({
      outputs: { doubled: [[0.5, -2, 8]], argmax: [[2]], order: [[0]], rows: [[[0.25, -1, 4]]], ratio: 'NaN' },
    });
    expect(lines[0]).toMatch(/^fake\/case01 +OK +fields=5 {2}two rows$/);
    expect(lines.at(-1)).toBe(`summary: OK=2; outputs in ${outDir}`);
  });

  it('run --check passes outputs that match in another row order, and compare.py agrees', async () => {
    const outDir = join(work, 'fake-out-check');
    expect(await command.run([casesDir, outDir, '--methods', 'fake', '--check'])).toBe(0);
    expect(lines).toEqual([
      'fake/case01        PASS      max_abs_err=0         checked=5 skipped=1  two rows',
      'fake/case02        PASS      max_abs_err=0         checked=5 skipped=1  one row',
      'summary: PASS=2 (tol=0.0001)',
    ]);
    if (havePython) {
      const py = comparePy(outDir, casesDir);
      expect(py.stdout.split('\n').filter((l) => l.startsWith('fake/'))).toEqual(lines.slice(0, 2));
    }
  });

  it('run reports a throwing runner as an ERROR line, removes its stale output, runs the rest and exits 1', async () => {
    const outDir = join(work, 'fake-out-broken');
    mkdirSync(join(outDir, 'broken'), { recursive: true });
    writeFileSync(join(outDir, 'broken', 'case01.json'), '{"outputs": {"stale": true}}');
    expect(await command.run([casesDir, outDir, '--check'])).toBe(1);
    expect(lines).toContain('broken/case01      ERROR     broken: not implemented yet');
    expect(existsSync(join(outDir, 'broken', 'case01.json'))).toBe(false);
    expect(lines.filter((l) => / PASS /.test(l))).toHaveLength(2);
    expect(lines.at(-1)).toBe('summary: ERROR=1, FAIL=1, PASS=2 (tol=0.0001)');
  });

  it('run reads gzipped cases (.json.gz) like plain ones and writes plain .json outputs', async () => {
    const gzDir = join(work, 'fake-cases-gz');
    writeFakeCases(gzDir, true);
    const outDir = join(work, 'fake-out-gz');
    expect(await command.run([gzDir, '--out', outDir, '--methods', 'fake', '--check'])).toBe(0);
    expect(lines).toEqual([
      'fake/case01        PASS      max_abs_err=0         checked=5 skipped=1  two rows',
      'fake/case02        PASS      max_abs_err=0         checked=5 skipped=1  one row',
      'summary: PASS=2 (tol=0.0001)',
    ]);
    expect(readdirSync(join(outDir, 'fake')).sort()).toEqual(['case01.json', 'case02.json']);
    if (havePython) {
      const py = comparePy(outDir, gzDir);
      expect(py.stdout.split('\n').filter((l) => l.startsWith('fake/'))).toEqual(lines.slice(0, 2));
    }
  });

  it('run with a cases folder and no output folder checks every case and writes nothing', async () => {
    const before = readdirSync(work).sort();
    expect(await command.run([casesDir, '--methods', 'fake'])).toBe(0);
    expect(lines.at(-1)).toBe('summary: PASS=2 (tol=0.0001)');
    expect(lines.filter((l) => / PASS /.test(l))).toHaveLength(2);
    expect(readdirSync(work).sort()).toEqual(before);
    expect(readdirSync(join(casesDir, 'fake')).sort()).toEqual(['case01.json', 'case02.json']);
  });

  it('run refuses a case that is there both plain and gzipped', async () => {
    const dupDir = join(work, 'fake-cases-dup');
    writeFakeCases(dupDir);
    writeFakeCases(dupDir, true);
    await expect(command.run([dupDir, '--methods', 'fake'])).rejects.toMatchObject({
      code: 'data-malformed',
      message: expect.stringMatching(/holds case case01 twice \(case01\.json and case01\.json\.gz\)/),
    });
  });

  it('run --check lists the failing field under a FAIL line and exits 1', async () => {
    expect(await command.run([casesDir, join(work, 'fake-out-wrong'), '--methods', 'wrong', '--check'])).toBe(1);
    expect(lines[0]).toMatch(/^wrong\/case01 +FAIL +max_abs_err=2 /);
    expect(lines[1]).toBe('      FAIL  doubled                max abs err 2 > tol at flat index 1 (ref 4, cand 2)');
  });

  it('run reports a runner missing from the runner table as an ERROR line', async () => {
    const only = createConformanceCommand({ runners: { fake: fakeRunner }, print: (line) => lines.push(line) });
    expect(await only.run([casesDir, join(work, 'fake-out-missing'), '--methods', 'wrong'])).toBe(1);
    expect(lines[0]).toMatch(/^wrong\/case01 +ERROR +\[data-missing\] no case runner for method 'wrong' \(runners: fake\)/);
  });

  it('run rejects bad arguments with exit status 2', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await command.run([casesDir, 'out', 'extra'])).toBe(2);
      expect(await command.run([casesDir, 'out', '--tol', 'abc'])).toBe(2);
      expect(await command.run([casesDir, 'out', '--frobnicate'])).toBe(2);
      expect(await command.run([casesDir, 'out', '--out', 'other'])).toBe(2);
      expect(String(errors.mock.calls[0][0])).toContain('expected at most <cases-dir> <out-dir>, got 3 arguments');
      expect(String(errors.mock.calls[1][0])).toContain('--tol abc is not a non-negative number');
      expect(String(errors.mock.calls[3][0])).toContain('the output folder is given twice (out and --out other)');
    } finally {
      errors.mockRestore();
    }
  });

  it('run fails with data-missing for a cases folder that does not exist, and names unknown --methods', async () => {
    await expect(command.run([join(work, 'nope'), 'out'])).rejects.toMatchObject({ code: 'data-missing' });
    await expect(command.run([casesDir, 'out', '--methods', 'fake,tome'])).rejects.toThrow(/--methods tome: no such folder .*available: broken, fake, wrong/);
  });
});

describe('main conformance --help', () => {
  it('main conformance --help prints the usage and exits 0', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await main(['conformance', '--help'])).toBe(0);
      const text = String(log.mock.calls[0][0]);
      expect(text).toMatch(/^usage: tokenscope conformance \[<cases-dir>\] \[--out <dir>\] \[--methods a,b\] \[--check\]/);
      for (const flag of ['--methods', '--out', '--check', '--tol', '--strict-ties', '--verbose', 'exit status']) expect(text).toContain(flag);
    } finally {
      log.mockRestore();
    }
  });
});

describe('conformance test helpers', () => {
  it('loadCases reads every case of a method in file order', () => {
    const cases = loadCases(METHOD);
    const names = readdirSync(join(conformanceCasesDir(), METHOD))
      .filter((f) => /\.json(\.gz)?$/.test(f))
      .map(caseNameOf)
      .sort();
    expect(names.length).toBeGreaterThan(0);
    expect(cases.map((c) => c.case)).toEqual(names);
  });

  it('TOKENSCOPE_CONFORMANCE_CASES points loadCases at a folder of plain .json cases', () => {
    const plain = join(work, 'plain-cases');
    mkdirSync(join(plain, METHOD), { recursive: true });
    for (const f of readdirSync(join(BUNDLED_CASES_DIR, METHOD))) {
      writeFileSync(join(plain, METHOD, `${caseNameOf(f)}.json`), gunzipSync(readFileSync(join(BUNDLED_CASES_DIR, METHOD, f))));
    }
    const saved = process.env.TOKENSCOPE_CONFORMANCE_CASES;
    process.env.TOKENSCOPE_CONFORMANCE_CASES = plain;
    try {
      expect(conformanceCasesDir()).toBe(plain);
      const fromPlain = loadCases(METHOD);
      delete process.env.TOKENSCOPE_CONFORMANCE_CASES;
      expect(conformanceCasesDir()).toBe(BUNDLED_CASES_DIR);
      expect(fromPlain.length).toBeGreaterThan(5);
      expect(fromPlain).toEqual(loadCases(METHOD));
    } finally {
      if (saved === undefined) delete process.env.TOKENSCOPE_CONFORMANCE_CASES;
      else process.env.TOKENSCOPE_CONFORMANCE_CASES = saved;
    }
  });

  it('loadCases names the missing folder', () => {
    const saved = process.env.TOKENSCOPE_CONFORMANCE_CASES;
    process.env.TOKENSCOPE_CONFORMANCE_CASES = join(work, 'no-such-cases');
    try {
      expect(() => loadCases('tome')).toThrow(TokenScopeError);
      expect(() => loadCases('tome')).toThrow(`conformance cases for 'tome' not found at ${join(work, 'no-such-cases', 'tome')}`);
    } finally {
      if (saved === undefined) delete process.env.TOKENSCOPE_CONFORMANCE_CASES;
      else process.env.TOKENSCOPE_CONFORMANCE_CASES = saved;
    }
  });

  it('expectCaseToConform returns the comparison of a passing case', () => {
    const c = loadCases(METHOD)[0];
    expect(expectCaseToConform(c, c.outputs).status).toBe('PASS');
  });

  it('expectCaseToConform fails listing every failing field and why', () => {
    const c = loadCases(METHOD)[0];
    const { idx: _dropped, ...rest } = c.outputs;
    const outputs = { ...rest, left_tokens: 999 };
    let message = '';
    try {
      expectCaseToConform(c, outputs);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${METHOD}/${c.case} does not conform`);
    expect(message).toContain('2 failing field(s) [left_tokens, idx]');
    expect(message).toMatch(/FAIL {2}left_tokens +: \d+ vs 999/);
    expect(message).toMatch(/FAIL {2}idx +not in candidate/);
  });
});
