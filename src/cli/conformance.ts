/**
 * `tokenscope conformance [<cases-dir>] [--out <dir>]`: runs our implementation of each method on
 * the official conformance cases (by default the ones bundled in tests/fixtures/conformance/cases)
 * and compares by compare.py's rules (reduce/conformance/compare.ts); with an output folder it also
 * writes what it produced in the layout tests/fixtures/conformance/compare.py reads.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError, type Parsed } from '../errors';
import { gunzipNode, readFileBytes } from '../io/node-files';
import { useBackend, type BackendName } from '../model/backend';
import type { CaseRunner, ConformanceCase } from '../reduce/conformance/case';
import {
  compareCase,
  DEFAULT_TOL,
  encodeOutputs,
  formatCaseLine,
  formatCounts,
  formatFieldLines,
  formatSummary,
  parseReferenceCase,
  type CaseStatus,
} from '../reduce/conformance/compare';
import type { Command } from './main';

const HELP = `usage: tokenscope conformance [<cases-dir>] [--out <dir>] [--methods a,b] [--check] [options]
       tokenscope conformance <cases-dir> <out-dir> [options]

Feeds every official conformance case to our implementation of its method and checks what
it produced against the official outputs; with an output folder it also writes them, in the
layout tests/fixtures/conformance/compare.py reads.

  <cases-dir>     reference cases, <cases-dir>/<method>/caseNN.json or caseNN.json.gz;
                  default: the cases bundled with TokenScope (tests/fixtures/conformance/cases,
                  outputs of the official implementations at the commits in the README table)
  --out <dir>     write <dir>/<method>/caseNN.json = {"outputs": {...}}, created if needed;
  <out-dir>       when a case errors, its stale file there is removed. Without an output
                  folder nothing is written and --check is implied

options:
  --methods a,b   only these methods (folder names under <cases-dir>: tome, tome_parse_r,
                  evit, ats, pitome, mctf)
  --check         also compare each case with its reference by compare.py's rules and
                  print a summary (always on without an output folder)
  --tol x         float tolerance for --check (default 1e-4)
  --strict-ties   with --check, a mismatch in a tie-dependent field fails the case
                  (default: it gives PASS(TIE))
  -v, --verbose   with --check, list every compared field; on errors, print the stack
  -h, --help      show this text

Runs on the TF.js wasm backend. Prints one line per case:
  method/caseNN  OK        fields=N  title                       (ran; without --check)
  method/caseNN  PASS      max_abs_err=…  checked=… skipped=…  title   (--check; also
                 PASS(TIE) or FAIL, failing fields listed below)
  method/caseNN  ERROR     message                               (the runner threw, or
                 the case file could not be read; the other cases still run)
then a summary line.

exit status: 0 if every case ran (and with --check passed); 1 if any case errored or
failed; 2 for bad arguments.

examples:
  npx tokenscope conformance                                  # every bundled case, checked
  npx tokenscope conformance --methods tome,tome_parse_r --out /tmp/out
  python3 tests/fixtures/conformance/compare.py /tmp/out --methods tome,tome_parse_r
  npx tokenscope conformance path/to/cases /tmp/out --check   # a folder of your own cases`;

/** The official cases bundled in the repository (this file is src/cli/conformance.ts). */
export const BUNDLED_CASES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'conformance', 'cases');

export interface ConformanceOptions {
  casesDir: string;
  /** Where outputs are written; null = nowhere (compare only). */
  outDir: string | null;
  /** Method folders to run; null = every folder under casesDir. */
  methods: string[] | null;
  check: boolean;
  tol: number;
  strictTies: boolean;
  verbose: boolean;
}

/** argv (after the command name) -> options; `error` says what was wrong and what to type instead. */
export function parseConformanceArgs(argv: string[]): Parsed<ConformanceOptions> {
  const bad = (message: string): Parsed<ConformanceOptions> => ({
    ok: false,
    error: new TokenScopeError('param-out-of-range', `${message}\n(tokenscope conformance --help for usage)`),
  });
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (e) {
    return bad((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 2) {
    return bad(`expected at most <cases-dir> <out-dir>, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  }
  if (positionals.length === 2 && values.out !== undefined) {
    return bad(`the output folder is given twice (${positionals[1]} and --out ${values.out}); give one`);
  }
  const outDir = positionals[1] ?? values.out ?? null;
  const tol = values.tol === undefined ? DEFAULT_TOL : Number(values.tol);
  if (!Number.isFinite(tol) || tol < 0) return bad(`--tol ${values.tol} is not a non-negative number; try --tol 1e-4`);
  let methods: string[] | null = null;
  if (values.methods !== undefined) {
    methods = values.methods
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m.length > 0);
    if (methods.length === 0) return bad('--methods needs a comma-separated list, e.g. --methods tome,evit');
  }
  return {
    ok: true,
    value: {
      casesDir: positionals[0] ?? BUNDLED_CASES_DIR,
      outDir,
      methods,
      check: values.check === true || outDir === null,
      tol,
      strictTies: values['strict-ties'] === true,
      verbose: values.verbose === true,
    },
  };
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      methods: { type: 'string' },
      out: { type: 'string' },
      check: { type: 'boolean' },
      tol: { type: 'string' },
      'strict-ties': { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
    },
  });
}

/** What the command needs from outside; tests pass fakes. */
export interface ConformanceDeps {
  /** Case runners keyed by method folder; default: caseRunners from reduce/conformance/index.ts. */
  runners: Record<string, CaseRunner>;
  /** Where lines go; default console.log. */
  print: (line: string) => void;
  /** Backend to run on; default wasm (the fast one in Node). */
  backend: BackendName;
}

/** Per case status: compare.py's, plus OK (ran, not checked) and ERROR (did not run). */
export type CaseRunStatus = CaseStatus | 'OK' | 'ERROR';

export interface CaseRunResult {
  id: string;
  status: CaseRunStatus;
  /** The file written, or null when the case errored or no output folder was given. */
  outPath: string | null;
  /** The error message (ERROR) or failing fields (FAIL). */
  message: string;
}

export interface ConformanceReport {
  cases: CaseRunResult[];
  counts: Record<string, number>;
  /** What the process should exit with: 0 all ran (and passed), else 1. */
  exitCode: number;
}

/** Runs every selected case, writes the outputs, prints a line per case and a summary. */
export async function runConformance(opts: ConformanceOptions, deps: ConformanceDeps): Promise<ConformanceReport> {
  const methods = selectMethods(opts.casesDir, opts.methods);
  await useBackend(deps.backend);
  const cases: CaseRunResult[] = [];
  for (const method of methods) {
    for (const file of listCaseFiles(opts.casesDir, method)) {
      const result = await runOneCase(method, file, opts, deps);
      cases.push(result);
    }
  }
  const counts: Record<string, number> = {};
  for (const c of cases) counts[c.status] = (counts[c.status] ?? 0) + 1;
  if (cases.length === 0) deps.print(`no case files under ${opts.casesDir} for methods ${methods.join(', ')}`);
  deps.print(opts.check ? formatSummary(counts, opts.tol) : `summary: ${formatCounts(counts)}; outputs in ${opts.outDir ?? '(not written)'}`);
  const bad = (counts.ERROR ?? 0) + (counts.FAIL ?? 0);
  return { cases, counts, exitCode: bad > 0 || cases.length === 0 ? 1 : 0 };
}

async function runOneCase(method: string, file: string, opts: ConformanceOptions, deps: ConformanceDeps): Promise<CaseRunResult> {
  const name = caseNameOf(file);
  const id = `${method}/${name}`;
  const outPath = opts.outDir === null ? null : join(opts.outDir, method, `${name}.json`);
  const fail = (e: unknown): CaseRunResult => {
    if (outPath) rmSync(outPath, { force: true }); // never leave a stale output for compare.py to read
    const message = describeError(e, opts.verbose);
    deps.print(`${id.padEnd(18)} ${'ERROR'.padEnd(9)} ${message}`);
    return { id, status: 'ERROR', outPath: null, message };
  };

  let reference: ConformanceCase;
  let encoded: ReturnType<typeof encodeOutputs>;
  try {
    reference = readCaseFile(join(opts.casesDir, method, file));
    const runner = deps.runners[method];
    if (!runner) {
      throw new TokenScopeError(
        'data-missing',
        `no case runner for method '${method}' (runners: ${Object.keys(deps.runners).join(', ')}); add one in src/reduce/conformance/index.ts`,
      );
    }
    encoded = encodeOutputs(await runScoped(runner, reference));
    if (outPath) {
      mkdirSync(dirname(outPath), { recursive: true });
      writeFileSync(outPath, `${JSON.stringify({ outputs: encoded })}\n`);
    }
  } catch (e) {
    return fail(e);
  }

  if (!opts.check) {
    deps.print(`${id.padEnd(18)} ${'OK'.padEnd(9)} fields=${Object.keys(encoded).length}  ${reference.title}`);
    return { id, status: 'OK', outPath, message: '' };
  }
  const cmp = compareCase(reference, { outputs: encoded }, { tol: opts.tol, strictTies: opts.strictTies });
  deps.print(formatCaseLine(id, reference.title, cmp));
  for (const line of formatFieldLines(cmp, opts.verbose)) deps.print(line);
  const message = cmp.failures.map((f) => `${f.field}: ${f.reason}`).join('; ');
  return { id, status: cmp.status, outPath, message };
}

/** Runs one case; tensors the runner leaves behind (not tf.keep'd) are disposed afterwards. */
async function runScoped(runner: CaseRunner, c: ConformanceCase): Promise<Record<string, unknown>> {
  const engine = tf.engine();
  engine.startScope();
  try {
    const outputs: unknown = await runner(c);
    if (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs)) {
      throw new TokenScopeError('data-malformed', `the runner returned ${Array.isArray(outputs) ? 'a list' : String(outputs)}, not an object of output fields`);
    }
    return outputs as Record<string, unknown>;
  } finally {
    engine.endScope();
  }
}

function describeError(e: unknown, verbose: boolean): string {
  if (!(e instanceof Error)) return String(e);
  const code = e instanceof TokenScopeError ? `[${e.code}] ` : '';
  const text = `${code}${e.message}`;
  return verbose && e.stack ? `${text}\n${e.stack.split('\n').slice(1).join('\n')}` : text;
}

/** Method folders to run: all under casesDir, or the requested ones (each must exist). */
export function selectMethods(casesDir: string, wanted: string[] | null): string[] {
  let entries: string[];
  try {
    entries = readdirSync(casesDir);
  } catch {
    throw new TokenScopeError(
      'data-missing',
      `cases folder ${casesDir} not found; expected <cases-dir>/<method>/caseNN.json (or .json.gz) like the bundled ${BUNDLED_CASES_DIR}`,
      {
        path: casesDir,
      },
    );
  }
  const available = entries.filter((e) => statSync(join(casesDir, e)).isDirectory()).sort();
  if (wanted === null) return available;
  const unknown = wanted.filter((m) => !available.includes(m));
  if (unknown.length > 0) {
    throw new TokenScopeError('param-out-of-range', `--methods ${unknown.join(',')}: no such folder in ${casesDir}; available: ${available.join(', ')}`);
  }
  return available.filter((m) => wanted.includes(m));
}

const CASE_FILE = /^(.+)\.json(\.gz)?$/;

/** 'case01.json' or 'case01.json.gz' -> 'case01' (the case's name, and its output file's stem). */
export function caseNameOf(file: string): string {
  const m = CASE_FILE.exec(file);
  if (!m) throw new TokenScopeError('internal', `${file} is not a case file name (caseNN.json or caseNN.json.gz)`);
  return m[1];
}

/**
 * The case files of one method (plain .json or gzipped .json.gz), in compare.py's order (sorted
 * by case name). A case present both plain and gzipped is ambiguous and throws 'data-malformed'.
 */
export function listCaseFiles(casesDir: string, method: string): string[] {
  const files = readdirSync(join(casesDir, method)).filter((f) => CASE_FILE.test(f));
  const byName = new Map<string, string>();
  for (const f of files) {
    const name = caseNameOf(f);
    const other = byName.get(name);
    if (other !== undefined) {
      throw new TokenScopeError('data-malformed', `${join(casesDir, method)} holds case ${name} twice (${other} and ${f}); keep one`, {
        path: join(casesDir, method),
      });
    }
    byName.set(name, f);
  }
  return [...byName.keys()].sort().map((name) => byName.get(name) as string);
}

/** The text of a case file, gunzipped when it is gzip (by its magic bytes, whatever its name). */
export function readCaseText(path: string): string {
  let bytes: Uint8Array;
  try {
    bytes = gunzipNode(readFileBytes(path), path);
  } catch (e) {
    if (e instanceof TokenScopeError) throw e;
    throw new TokenScopeError('data-missing', `cannot read case file ${path}: ${(e as Error).message}`, { path });
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/** Reads and checks one case file (.json or .json.gz); throws 'data-missing' / 'data-malformed' naming the path. */
export function readCaseFile(path: string): ConformanceCase {
  const text = readCaseText(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TokenScopeError('data-malformed', `case file ${path} is not valid JSON: ${(e as Error).message}`, { path });
  }
  const parsed = parseReferenceCase(json, path);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

/** The command with its dependencies; `conformanceCommand` is this with the real runners. */
export function createConformanceCommand(deps: Partial<ConformanceDeps> = {}): Command {
  return {
    summary: 'run the official conformance cases through our methods (and --check them)',
    help: HELP,
    async run(argv: string[]): Promise<number> {
      const print = deps.print ?? ((line: string) => console.log(line));
      const parsed = parseConformanceArgs(argv);
      if (!parsed.ok) {
        console.error(`tokenscope conformance: ${parsed.error.message}`);
        return 2;
      }
      const runners = deps.runners ?? (await loadDefaultRunners());
      const report = await runConformance(parsed.value, { runners, print, backend: deps.backend ?? 'wasm' });
      return report.exitCode;
    },
  };
}

async function loadDefaultRunners(): Promise<Record<string, CaseRunner>> {
  try {
    return (await import('../reduce/conformance/index')).caseRunners;
  } catch (e) {
    throw new TokenScopeError('internal', `could not load the case runners (src/reduce/conformance/index.ts): ${(e as Error).message}`);
  }
}

export const conformanceCommand: Command = createConformanceCommand();
