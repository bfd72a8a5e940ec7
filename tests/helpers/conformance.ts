/**
 * Helpers for tests/conformance/<method>.test.ts: load a method's official cases and check a
 * runner's outputs against them by compare.py's rules (src/reduce/conformance/compare.ts).
 *
 *   import { loadCases, expectCaseToConform } from '../helpers/conformance';
 *   describe('tome conformance', () => {
 *     for (const c of loadCases('tome')) {
 *       it(`${c.case}: ${c.title}`, () => { expectCaseToConform(c, runTomeCase(c)); });
 *     }
 *   });
 *
 * The cases are bundled in the repository, gzipped: tests/fixtures/conformance/cases/<method>/
 * caseNN.json.gz (outputs of the official implementations; tests/fixtures/conformance/README.md).
 * The environment variable TOKENSCOPE_CONFORMANCE_CASES points at another folder of cases
 * (plain .json or .json.gz) if needed.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from 'vitest';
import { BUNDLED_CASES_DIR, caseNameOf, listCaseFiles, readCaseFile } from '../../src/cli/conformance';
import type { CaseOutputs, ConformanceCase } from '../../src/reduce/conformance/case';
import { compareCase, encodeOutputs, formatFieldLines, formatG, type CaseComparison, type CompareOptions } from '../../src/reduce/conformance/compare';
import { TokenScopeError } from '../../src/errors';

/** The repository root (this file is tests/helpers/conformance.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the official cases are: $TOKENSCOPE_CONFORMANCE_CASES, else the bundled tests/fixtures/conformance/cases. */
export function conformanceCasesDir(): string {
  return resolve(process.env.TOKENSCOPE_CONFORMANCE_CASES ?? BUNDLED_CASES_DIR);
}

/** compare.py, the reference checker, bundled beside the cases (it reads plain and gzipped cases). */
export function comparePyPath(): string {
  return join(repoRoot, 'tests', 'fixtures', 'conformance', 'compare.py');
}

/** The file of one case (caseNN.json or caseNN.json.gz) under the cases folder. */
export function caseFilePath(method: string, caseName: string): string {
  const root = conformanceCasesDir();
  const file = listCaseFiles(root, method).find((f) => caseNameOf(f) === caseName);
  if (file === undefined) throw new TokenScopeError('data-missing', `no case ${method}/${caseName} under ${root}`, { path: join(root, method) });
  return join(root, method, file);
}

/**
 * Every case of one method (case01, case02, … in file order), read and checked. Throws
 * 'data-missing' naming the folder when it is not there. Synchronous, so a test file can make
 * one `it` per case at collection time.
 */
export function loadCases(method: string): ConformanceCase[] {
  const root = conformanceCasesDir();
  const dir = join(root, method);
  if (!existsSync(dir)) {
    throw new TokenScopeError(
      'data-missing',
      `conformance cases for '${method}' not found at ${dir}. The bundled ones are in ${BUNDLED_CASES_DIR}; ` +
        'TOKENSCOPE_CONFORMANCE_CASES, when set, must name a folder of <method>/caseNN.json(.gz) files.',
      { path: dir },
    );
  }
  const files = listCaseFiles(root, method);
  if (files.length === 0) throw new TokenScopeError('data-missing', `no caseNN.json or caseNN.json.gz files in ${dir}`, { path: dir });
  return files.map((f) => readCaseFile(join(dir, f)));
}

/**
 * Asserts that a runner's outputs conform to the case (PASS, or PASS(TIE) unless strictTies),
 * failing with every failing field and why. The outputs go through the same JSON encoding the
 * CLI writes, so this agrees with `tokenscope conformance --check` and compare.py. Returns the
 * comparison for further checks (e.g. that a tie case really was PASS(TIE)).
 */
export function expectCaseToConform(c: ConformanceCase, outputs: CaseOutputs, opts: CompareOptions = {}): CaseComparison {
  const cmp = compareCase(c, { outputs: encodeOutputs(outputs) }, opts);
  if (cmp.status === 'FAIL') assert.fail(describeFailure(c, cmp));
  return cmp;
}

/** The failure message: case, counts, then one line per failing (and tolerated tie) field. */
export function describeFailure(c: ConformanceCase, cmp: CaseComparison): string {
  const head =
    `${c.method}/${c.case} does not conform (${c.title}): ${cmp.failures.length} failing field(s) ` +
    `[${cmp.failures.map((f) => f.field).join(', ')}], max_abs_err=${formatG(cmp.maxAbsErr, 3)}, ` +
    `checked=${cmp.checked} skipped=${cmp.skipped}`;
  return [head, ...formatFieldLines(cmp)].join('\n');
}
