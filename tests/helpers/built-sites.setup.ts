/**
 * Global set-up of the browser tests: one folder for the sites they build (tests/helpers/built-site.ts),
 * so that the files that test a build share one instead of each paying for its own; removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject): () => void {
  const root = mkdtempSync(join(tmpdir(), 'tokenscope-sites-'));
  project.provide('builtSites', root);
  return () => rmSync(root, { recursive: true, force: true });
}
