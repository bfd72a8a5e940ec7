/**
 * The repository stands alone: a fresh clone, with nothing beside it, holds everything the
 * conformance suite needs, and no tracked file points outside the repository.
 *
 * The clone is of the committed HEAD (`git clone --depth 1 file://…`), so uncommitted changes are
 * not what it checks. It borrows this checkout's node_modules through a symlink rather than
 * running a second `npm ci`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseNameOf, listCaseFiles } from '../../src/cli/conformance';
import { repoRoot } from '../helpers/conformance';

function git(args: string[], cwd: string): string {
  const run = spawnSync('git', ['-c', 'safe.directory=*', ...args], { cwd, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd} (exit ${run.status}): ${run.stderr}`);
  return run.stdout;
}

// Built from pieces so that this file does not contain what it looks for.
const SHARED = ['sha', 'red'].join('');
const FORBIDDEN: { what: string; pattern: RegExp }[] = [
  { what: `../${SHARED}`, pattern: new RegExp(`\\.\\./${SHARED}`) },
  { what: `${SHARED}/spec`, pattern: new RegExp(`${SHARED}/spec`) },
  { what: `${SHARED}/conformance`, pattern: new RegExp(`${SHARED}/conformance`) },
  // A path joined from parts, as in join(root, '..', SHARED, …).
  { what: `'..', '${SHARED}'`, pattern: new RegExp(`['"]\\.\\.['"],\\s*['"]${SHARED}['"]`) },
];

describe('no tracked file points outside the repository', () => {
  it(`no tracked text file mentions ${FORBIDDEN.map((f) => f.what).join(', ')}`, () => {
    const files = git(['ls-files', '-z'], repoRoot)
      .split('\0')
      .filter((f) => f !== '' && f !== 'package-lock.json');
    expect(files.length).toBeGreaterThan(100);
    const offenders: string[] = [];
    for (const file of files) {
      const path = join(repoRoot, file);
      if (!existsSync(path)) continue; // deleted in the work tree, not yet committed
      const bytes = readFileSync(path);
      if (bytes.includes(0)) continue; // binary (images, weights, gzipped fixtures)
      const text = bytes.toString('utf8');
      for (const { what, pattern } of FORBIDDEN) {
        const at = text.search(pattern);
        if (at >= 0) offenders.push(`${file}:${text.slice(0, at).split('\n').length}: ${what}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('a fresh clone runs the conformance suite on its own', () => {
  const work = mkdtempSync(join(tmpdir(), 'tokenscope-clone-'));
  const clone = join(work, 'tokenscope');
  let run: SpawnSyncReturns<string>;

  beforeAll(() => {
    git(['clone', '--quiet', '--depth', '1', `file://${repoRoot}`, clone], work);
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const env = { ...process.env };
    delete env.TOKENSCOPE_CONFORMANCE_CASES;
    run = spawnSync('npx', ['--no-install', 'tokenscope', 'conformance'], {
      cwd: clone,
      env,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the clone has nothing beside it', () => {
    expect(readdirSync(work)).toEqual(['tokenscope']);
  });

  it('`npx tokenscope conformance` in the clone passes every bundled case', () => {
    const casesDir = join(clone, 'tests', 'fixtures', 'conformance', 'cases');
    const methods = readdirSync(casesDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(methods).toEqual(['atc', 'ats', 'diffrate', 'diffrate_schedule', 'evit', 'gtp', 'mctf', 'pitome', 'ppt', 'tome', 'tome_parse_r']);
    const ids = methods.flatMap((m) => listCaseFiles(casesDir, m).map((f) => `${m}/${caseNameOf(f)}`));
    expect(ids.length).toBeGreaterThanOrEqual(103);

    expect(run.error).toBeUndefined();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lines = run.stdout.split('\n');
    const passed = lines.filter((l) => /^\S+\/case\d+ +PASS /.test(l)).map((l) => l.split(/\s+/)[0]);
    expect(passed.sort()).toEqual(ids.sort());
    expect(lines.filter((l) => l.startsWith('summary:'))).toEqual([`summary: PASS=${ids.length} (tol=0.0001)`]);
  });
});
