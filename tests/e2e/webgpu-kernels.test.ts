import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { ConformanceCase } from '../../src/reduce/conformance/case';
import { startBrowserSession, type BrowserSession } from '../helpers/browser';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import type { ForwardReads, KernelRun } from './webgpu-kernels/harness';

// The fused WebGPU kernels (src/tokens/webgpu, src/reduce/webgpu) against the official cases, in
// headless Chromium on the software WebGPU adapter: the same rules as on wasm (1e-4, exact
// indices), with the fused programs counted so a silent fallback to the generic ops cannot pass.
// One page for the whole file.
describe('fused WebGPU kernels in Chromium', () => {
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    session = await startBrowserSession();
    page = await session.browser.newPage();
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && console.error(`[page console] ${m.text()}`));
    // the first load transforms TF.js and the engine in the dev server: slow on a busy machine
    await page.goto(`${session.baseUrl}/tests/e2e/webgpu-kernels/index.html`, { timeout: 120_000 });
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await session?.close();
  });

  // (the cases cross as plain JSON; typed loosely here, their nested arrays are too deep for evaluate's types)
  const run = (method: string, cases: ConformanceCase[]): Promise<KernelRun> =>
    page.evaluate(([m, c]) => window.runCases(m, c as never), [method, cases as unknown[]] as [string, unknown[]]);

  it('runs every official ToMe case through the fused kernels and conforms', async () => {
    const cases = loadCases('tome');
    const got = await run('tome', cases);
    expect(got.backend).toBe('webgpu');
    expect(got.notes).toEqual([]);
    expect(got.status).toMatchObject({ apply: 'on', tome: 'on' });
    expect(got.leaked).toBe(0);
    const merging = cases.filter((_, i) => (got.outputs[i].r_effective as number) > 0).length;
    expect(merging).toBeGreaterThan(0);
    // one best-match and one decision per merging case, and the shared apply step for its outputs
    expect(got.runs.tome_bestmatch).toBe(merging);
    expect(got.runs.tome_decide_indices).toBe(merging);
    expect(got.runs.apply_weighted).toBeGreaterThan(0);
    for (const [i, c] of cases.entries()) expect(expectCaseToConform(c, got.outputs[i]).skipped, c.case).toBe(0);
  }, 120_000);

  it('runs every official PiToMe case through the fused kernels and conforms', async () => {
    const cases = loadCases('pitome');
    const got = await run('pitome', cases);
    expect(got.notes).toEqual([]);
    expect(got.status).toMatchObject({ apply: 'on', pitome: 'on' });
    expect(got.leaked).toBe(0);
    // every case that merges (no error, ratio < 1) goes through the energy program once
    const deciding = got.outputs.filter((o) => o.noop === false).length;
    expect(deciding).toBeGreaterThan(0);
    expect(got.runs.pitome_energy).toBe(deciding);
    for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
  }, 120_000);

  it('runs every official MCTF case through the fused kernels and conforms', async () => {
    const cases = loadCases('mctf');
    const got = await run('mctf', cases);
    expect(got.notes).toEqual([]);
    expect(got.status).toMatchObject({ apply: 'on', mctf: 'on' });
    expect(got.leaked).toBe(0);
    const merging = cases.filter((_, i) => (got.outputs[i].r_effective as number) > 0);
    expect(merging.length).toBeGreaterThan(0);
    // per merging case: criteria, scores, decision (with the indices the cases compare) and coefficients once;
    // the merged attention for each one-step-ahead case, max pooling's program for each max-pooling case
    expect(got.runs.mctf_criteria).toBe(merging.length);
    expect(got.runs.mctf_scores).toBe(merging.length);
    expect(got.runs.mctf_decide_indices).toBe(merging.length);
    expect(got.runs.mctf_coeff).toBe(merging.length);
    expect(got.runs.mctf_attn_next).toBe(merging.filter((c) => Number(c.params.one_step_ahead) === 1).length);
    expect(got.runs.mctf_max_pool).toBe(merging.filter((c) => Number(c.params.pooling_type) === 2).length);
    for (const [i, c] of cases.entries()) expect(expectCaseToConform(c, got.outputs[i]).skipped, c.case).toBe(0);
  }, 120_000);

  it('reads nothing back inside a block on WebGPU; ATS keeps its one asynchronous read per reducing block', async () => {
    const plans = ['tome:r=3', 'pitome:ratio=0.8', 'mctf:r=3', 'ats:k=8,layers=1/2'];
    const got = (await page.evaluate((p) => window.countReads(p), plans)) as ForwardReads[];
    expect(got.map((g) => g.plan)).toEqual(plans);
    for (const g of got) {
      expect(g.syncReads, g.plan).toBe(0);
      expect(g.tokensOut, g.plan).toBeLessThan(17);
    }
    expect(got.slice(0, 3).map((g) => g.asyncReads)).toEqual([0, 0, 0]);
    expect(got[3].asyncReads).toBe(2);
  }, 120_000);

  it("gives the same numbers with the apply step's row layout (software adapters) and element layout (GPUs)", async () => {
    for (const plan of ['tome:r=3', 'pitome:ratio=0.8', 'mctf:r=3']) {
      const { row, element, leaked } = await page.evaluate((p) => window.applyLayouts(p), plan);
      expect(leaked, plan).toBe(0);
      expect(row.runs.apply_weighted, plan).toBeGreaterThan(0);
      expect(row.runs.apply_weighted_element ?? 0, plan).toBe(0);
      expect(element.runs.apply_weighted_element, plan).toBe(row.runs.apply_weighted);
      expect(element.runs.apply_weighted ?? 0, plan).toBe(0);
      expect(element.tokens, plan).toEqual(row.tokens);
      expect(Math.min(...row.tokens), plan).toBeLessThan(17);
      // the same additions in the same order: bit for bit
      expect(element.logits, plan).toEqual(row.logits);
    }
  }, 120_000);

  it('falls back to the generic ops, and says so, when the device rejects the ToMe and MCTF programs', async () => {
    await page.evaluate(() => window.forceKernelFailure(['tome', 'mctf'], true));
    try {
      const cases = loadCases('tome').slice(0, 3);
      const got = await run('tome', cases);
      expect(got.status).toMatchObject({ apply: 'on', tome: 'off', mctf: 'off' });
      expect(got.notes).toHaveLength(2);
      expect(got.notes[0]).toMatch(/^WebGPU rejected the fused ToMe kernels \(.+\); ToMe runs on generic TF\.js ops instead\.$/);
      expect(got.notes[1]).toMatch(/^WebGPU rejected the fused MCTF kernels \(.+\); MCTF runs on generic TF\.js ops instead\.$/);
      expect(got.runs.tome_bestmatch ?? 0).toBe(0);
      for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
      const mctfCases = loadCases('mctf').slice(0, 3);
      const mctf = await run('mctf', mctfCases);
      expect(Object.keys(mctf.runs).filter((k) => k.startsWith('mctf_') && mctf.runs[k] > 0)).toEqual([]);
      for (const [i, c] of mctfCases.entries()) expectCaseToConform(c, mctf.outputs[i]);
    } finally {
      await page.evaluate(() => window.forceKernelFailure(['tome', 'mctf'], false));
    }
    const again = await run('tome', loadCases('tome').slice(0, 1));
    expect(again.status).toMatchObject({ tome: 'on', mctf: 'on' });
  }, 180_000);

  it("sparsifies GTP's attention with one program per block: the official cases conform, the engine's numbers are top-k's bit for bit, and a rejected program falls back", async () => {
    const cases = loadCases('gtp').filter((c) => c.params.kind === 'attention');
    expect(cases.map((c) => c.params.sparsity)).toEqual([0.7, 0.6]);
    const gtpCases = (): Promise<KernelRun> => page.evaluate((c) => window.gtpAttentionCases(c as never), cases as unknown[]);
    const got = await gtpCases();
    expect(got.status['attention-sparsity']).toBe('on');
    expect(got.runs.kth_smallest).toBe(cases.length);
    expect(got.leaked).toBe(0);
    for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);

    const plan = 'gtp:p=2,sparsity=0.7,scale=1';
    const { fused, generic, leaked } = await page.evaluate((p) => window.fusedVersusGeneric(p), plan);
    expect(leaked).toBe(0);
    expect(fused.runs.kth_smallest).toBe(4); // GTP, and so the sparsity, at each of the tiny ViT's 4 blocks
    expect(generic.runs.kth_smallest ?? 0).toBe(0);
    expect(fused.tokens).toEqual(generic.tokens);
    expect(fused.logits).toEqual(generic.logits); // the same threshold exactly, so the same zeros

    await page.evaluate(() => window.forceKernelFailure(['attention-sparsity'], true));
    try {
      const rejected = await gtpCases();
      expect(rejected.status['attention-sparsity']).toBe('off');
      expect(rejected.notes).toEqual([
        expect.stringMatching(
          /^WebGPU rejected the fused attention sparsity \(GTP\) kernels \(.+\); attention sparsity \(GTP\) runs on generic TF\.js ops instead\.$/,
        ),
      ]);
      expect(rejected.runs.kth_smallest ?? 0).toBe(0);
      for (const [i, c] of cases.entries()) expectCaseToConform(c, rejected.outputs[i]);
    } finally {
      await page.evaluate(() => window.forceKernelFailure(['attention-sparsity'], false));
    }
  }, 120_000);

  // ATS's decision as fused programs (src/reduce/webgpu/ats-*.ts), on the same page.
  describe('ATS', () => {
    it('runs every official ATS case through the fused kernels and conforms', async () => {
      const cases = loadCases('ats');
      const got = await run('ats', cases);
      expect(got.backend).toBe('webgpu');
      expect(got.notes).toEqual([]);
      expect(got.status).toMatchObject({ apply: 'on', ats: 'on' });
      expect(got.leaked).toBe(0);
      // every case samples (N ≥ 6), once: one decision program each
      expect(got.runs.ats_sample).toBe(cases.length);
      for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
    }, 120_000);

    it('decides in the engine through the fused programs, with the tokens and logits of the generic path and one asynchronous read per block', async () => {
      const plan = 'ats:layers=1/2';
      const before = await page.evaluate(() => window.fusedRunCounts());
      const [reads] = await page.evaluate((p) => window.countReads(p), [plan]);
      const after = await page.evaluate(() => window.fusedRunCounts());
      const ran = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
      // two reducing blocks: a decision, a count, a selection and its apply to x and sizes in each
      expect(['ats_sample', 'ats_count', 'ats_target', 'ats_coeff'].map(ran)).toEqual([2, 2, 2, 2]);
      expect(ran('valuenorms')).toBe(2); // ATS's value norms in one program, not the generic ops
      expect(ran('select_rows')).toBe(4); // x and sizes
      expect(reads.syncReads).toBe(0);
      expect(reads.asyncReads).toBe(2);

      const { fused, generic, leaked } = await page.evaluate((p) => window.fusedVersusGeneric(p), plan);
      expect(leaked).toBe(0);
      expect(fused.runs.ats_sample).toBe(2);
      expect(generic.runs.ats_sample ?? 0).toBe(0);
      expect(fused.tokens[1]).toBeLessThan(17); // block 1 dropped tokens
      expect(fused.tokens).toEqual(generic.tokens);
      const worst = Math.max(...fused.logits.map((v, i) => Math.abs(v - generic.logits[i])));
      expect(worst).toBeLessThan(1e-4);
    }, 120_000);

    it('falls back to the generic ops, and says so, when the device rejects the ATS programs', async () => {
      await page.evaluate(() => window.forceKernelFailure(['ats'], true));
      try {
        const cases = loadCases('ats').slice(0, 3);
        const got = await run('ats', cases);
        expect(got.status).toMatchObject({ apply: 'on', ats: 'off' });
        expect(got.notes).toHaveLength(1);
        expect(got.notes[0]).toMatch(/^WebGPU rejected the fused ATS kernels \(.+\); ATS runs on generic TF\.js ops instead\.$/);
        expect(got.runs.ats_sample ?? 0).toBe(0);
        for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
      } finally {
        await page.evaluate(() => window.forceKernelFailure(['ats'], false));
      }
      const again = await run('ats', loadCases('ats').slice(0, 1));
      expect(again.status.ats).toBe('on');
    }, 120_000);
  });
});
