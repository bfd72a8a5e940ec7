import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { ConformanceCase } from '../../src/reduce/conformance/case';
import { startBrowserSession, type BrowserSession } from '../helpers/browser';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import type { ForwardReads, GLRun } from './webgl-kernels/harness';

// Our WebGL GPGPU programs (src/tokens/webgl, src/reduce/webgl) against the official cases, in
// headless Chromium on WebGL2 (ANGLE over SwiftShader): the same rules as on wasm (1e-4, exact
// indices), with the programs counted so a silent fallback to TF.js's kernels cannot pass.
// One page for the whole file.
describe('WebGL GPGPU programs in Chromium', () => {
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    session = await startBrowserSession();
    page = await session.browser.newPage();
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && console.error(`[page console] ${m.text()}`));
    await page.goto(`${session.baseUrl}/tests/e2e/webgl-kernels/index.html`, { timeout: 120_000 });
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await session?.close();
  });

  // (the cases cross as plain JSON; typed loosely here, their nested arrays are too deep for evaluate's types)
  const run = (method: string, cases: ConformanceCase[]): Promise<GLRun> =>
    page.evaluate(([m, c]) => window.runCases(m, c as never), [method, cases as unknown[]] as [string, unknown[]]);

  it('runs every official ToMe case through the WebGL programs and conforms', async () => {
    const cases = loadCases('tome');
    const got = await run('tome', cases);
    expect(got.backend).toBe('webgl');
    expect(got.notes).toEqual([]);
    expect(got.status).toEqual({ 'topk-webgl': 'on', 'tome-webgl': 'on', 'apply-webgl': 'on' });
    expect(got.leaked).toBe(0);
    const merging = cases.filter((_, i) => (got.outputs[i].r_effective as number) > 0).length;
    expect(merging).toBeGreaterThan(0);
    // one best-match and one decision per merging case, and the shared apply step for its outputs
    expect(got.runs.tome_bestmatch_gl).toBe(merging);
    expect(got.runs.tome_decide_gl).toBe(merging);
    expect(got.runs.groupmean_gl).toBeGreaterThanOrEqual(merging);
    expect(got.runs.apply_weighted_gl).toBeGreaterThan(0);
    console.log(JSON.stringify(got.runs));
    for (const [i, c] of cases.entries()) expect(expectCaseToConform(c, got.outputs[i]).skipped, c.case).toBe(0);
  }, 180_000);

  // every sort these methods make (their decisions, the apply step's selection) goes through the GPU sort
  for (const method of ['ats', 'evit', 'pitome', 'mctf']) {
    it(`runs the official ${method} cases with the GPU sort and conforms`, async () => {
      const cases = loadCases(method);
      const got = await run(method, cases);
      expect(got.notes).toEqual([]);
      expect(got.leaked).toBe(0);
      expect(got.runs.topk_rank).toBeGreaterThan(0);
      expect(got.runs.topk_indices).toBe(got.runs.topk_rank);
      console.log(method, JSON.stringify(got.runs));
      for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
    }, 180_000);
  }

  it('reads nothing back synchronously inside a forward on WebGL', async () => {
    const plans = ['tome:r=3', 'pitome:ratio=0.8', 'mctf:r=3', 'ats:k=8,layers=1/2', 'evit:keep=0.7,layers=1/2', 'topk:keep=0.7,layers=1/2'];
    const got = (await page.evaluate((p) => window.countReads(p), plans)) as ForwardReads[];
    console.log(JSON.stringify(got));
    expect(got.map((g) => g.plan)).toEqual(plans);
  }, 120_000);

  it('falls back to the generic ops, and says so, when the device rejects the ToMe programs', async () => {
    await page.evaluate(() => window.forceKernelFailure('tome-webgl', true));
    try {
      const cases = loadCases('tome').slice(0, 3);
      const got = await run('tome', cases);
      expect(got.status).toMatchObject({ 'topk-webgl': 'on', 'tome-webgl': 'off' });
      expect(got.notes).toHaveLength(1);
      expect(got.notes[0]).toMatch(/^WebGL rejected the fused ToMe kernels \(.+\); ToMe runs on generic TF\.js ops instead\.$/);
      expect(got.runs.tome_bestmatch_gl ?? 0).toBe(0);
      for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
    } finally {
      await page.evaluate(() => window.forceKernelFailure('tome-webgl', false));
    }
    const again = await run('tome', loadCases('tome').slice(0, 1));
    expect(again.status['tome-webgl']).toBe('on');
  }, 120_000);
});
