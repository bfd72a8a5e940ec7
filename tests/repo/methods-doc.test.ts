/**
 * docs/METHODS.md stays true to the code that cites it: every anchor of it cited in a tracked
 * file names a section, each method's parameter table lists the plan grammar's parameters and
 * defaults, and every published figure the compare page quotes appears in the section it cites.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFERENCE_FIGURES } from '../../src/app/compare/reference';
import { formatParamValue, METHOD_IDS, METHOD_SPECS } from '../../src/reduce/plan';
import { repoRoot } from '../helpers/conformance';

const DOC = 'docs/METHODS.md';
const text = readFileSync(join(repoRoot, DOC), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** Level-2 sections by anchor: the text from the heading to the next level-2 heading. */
const sections = new Map<string, string>();
for (const part of text.split(/^## /m).slice(1)) {
  const newline = part.indexOf('\n');
  sections.set(slug(part.slice(0, newline)), part.slice(newline + 1));
}

function trackedTextFiles(): string[] {
  const run = spawnSync('git', ['-c', 'safe.directory=*', 'ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`git ls-files failed: ${run.stderr}`);
  return run.stdout.split('\0').filter((f) => f !== '' && f !== 'package-lock.json' && existsSync(join(repoRoot, f)));
}

describe(DOC, () => {
  it('has a section for every method of the plan grammar, and the shared ones', () => {
    for (const id of [...METHOD_IDS, 'common', 'flops', 'baselines', 'conformance']) expect(sections.has(id), id).toBe(true);
  });

  it(`every ${DOC}#anchor cited in a tracked file, and every #anchor link inside it, names a section`, () => {
    const cited: string[] = [];
    for (const file of trackedTextFiles()) {
      const bytes = readFileSync(join(repoRoot, file));
      if (bytes.includes(0)) continue;
      for (const m of bytes.toString('utf8').matchAll(/docs\/METHODS\.md#([a-z0-9_-]+)/g)) cited.push(`${file}: #${m[1]}`);
    }
    for (const m of text.matchAll(/\]\(#([a-z0-9_-]+)\)/g)) cited.push(`${DOC}: #${m[1]}`);
    expect(cited.length).toBeGreaterThan(20);
    expect(cited.filter((c) => !sections.has(c.slice(c.lastIndexOf('#') + 1)))).toEqual([]);
  });

  it("lists each method's plan parameters with the plan grammar's defaults", () => {
    for (const id of METHOD_IDS) {
      const section = sections.get(id) ?? '';
      const rows = [...section.matchAll(/^\| `([a-z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1], m[2].trim()]);
      // a choice is written by its name (GTP's graph), a switch as 0/1
      const expected = METHOD_SPECS[id].params.map((p) => [p.name, formatParamValue(p, p.default)]);
      if (id === 'topk') {
        // top-k's section points to EViT's table; its one parameter must be EViT's keep.
        expect(expected).toEqual([['keep', '0.7']]);
        expect(section).toContain('`topk:keep=0.7`');
        continue;
      }
      expect({ id, rows }).toEqual({ id, rows: expected });
    }
  });

  it('quotes every published figure of the compare page in the section the page cites', () => {
    const missing: string[] = [];
    for (const f of REFERENCE_FIGURES) {
      const section = sections.get(f.section);
      const has = (v: number) => section !== undefined && [String(v), v.toFixed(1), v.toFixed(2)].some((s) => section.includes(s));
      if (!has(f.top1) || !has(f.gflops)) missing.push(`${f.method} ${f.model} ${f.setting}: ${f.top1} % / ${f.gflops} in #${f.section}`);
    }
    expect(missing).toEqual([]);
  });
});
