import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { ConformanceCase } from '../../src/reduce/conformance/case';
import { startBrowserSession, type BrowserSession } from '../helpers/browser';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import type { GLForward, GLRun } from './webgl-kernels/harness';

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
    page.evaluate(([m, c]) => window.glRunCases(m, c as never), [method, cases as unknown[]] as [string, unknown[]]);

  it('runs every official ToMe case through the WebGL programs and conforms', async () => {
    const cases = loadCases('tome');
    const got = await run('tome', cases);
    expect(got.backend).toBe('webgl');
    expect(got.notes).toEqual([]);
    expect(got.status).toMatchObject({ 'topk-webgl': 'on', 'tome-webgl': 'on', 'apply-webgl': 'on' });
    expect(got.leaked).toBe(0);
    const merging = cases.filter((_, i) => (got.outputs[i].r_effective as number) > 0).length;
    expect(merging).toBeGreaterThan(0);
    // one best-match and one decision per merging case, and the shared apply step for its outputs
    expect(got.runs.tome_bestmatch_gl).toBe(merging);
    expect(got.runs.tome_decide_gl).toBe(merging);
    expect(got.runs.tome_rank_gl).toBe(merging);
    expect(got.runs.tome_norms_gl).toBe(merging);
    expect(got.runs.groupmean_gl).toBeGreaterThanOrEqual(merging);
    expect(got.runs.apply_weighted_gl).toBeGreaterThan(0);
    // every apply walks the per-row lists of its assignment
    expect(got.runs.apply_links_gl).toBeGreaterThan(0);
    for (const [i, c] of cases.entries()) expect(expectCaseToConform(c, got.outputs[i]).skipped, c.case).toBe(0);
  }, 180_000);

  it('runs every official MCTF case through the WebGL programs and conforms', async () => {
    const cases = loadCases('mctf');
    const got = await run('mctf', cases);
    expect(got.notes).toEqual([]);
    expect(got.status).toMatchObject({ 'mctf-webgl': 'on', 'apply-webgl': 'on' });
    expect(got.leaked).toBe(0);
    const merging = cases.filter((_, i) => (got.outputs[i].r_effective as number) > 0);
    expect(merging.length).toBeGreaterThan(0);
    const count = (flag: (c: ConformanceCase) => boolean) => merging.filter(flag).length;
    // each merging case once through the decision, its B→A step when bidirectional, the merged
    // attention when one-step-ahead and the max pooling when asked for; MCTF sorts nothing any more
    expect(got.runs.mctf_token_gl).toBe(merging.length);
    expect(got.runs.mctf_scores_gl).toBe(merging.length);
    expect(got.runs.mctf_rows_gl).toBe(merging.length);
    expect(got.runs.mctf_coeff_gl).toBe(merging.length);
    expect(got.runs.mctf_best_b_gl ?? 0).toBe(count((c) => Boolean(c.params.bidirection)));
    expect(got.runs.mctf_attn_next_gl ?? 0).toBe(count((c) => Boolean(c.params.one_step_ahead)));
    expect(got.runs.mctf_max_pool_gl ?? 0).toBe(count((c) => Number(c.params.pooling_type) === 2));
    expect(got.runs.topk_rank ?? 0).toBe(0);
    for (const [i, c] of cases.entries()) expect(expectCaseToConform(c, got.outputs[i]).skipped, c.case).toBe(0);
  }, 180_000);

  // Every sort of these methods (their decisions, the apply step's selection) goes through the GPU
  // sort, and PiToMe through the apply programs (ATS and MCTF decide in their own programs, below
  // and above); the first cases of each here (every case of every method passed when this was
  // written; the forward comparison below covers the rest).
  it('runs official EViT and PiToMe cases with the GPU sort and conforms', async () => {
    for (const method of ['evit', 'pitome']) {
      const cases = loadCases(method).slice(0, 3);
      const got = await run(method, cases);
      expect(got.notes).toEqual([]);
      expect(got.leaked, method).toBe(0);
      expect(got.runs.topk_rank, method).toBeGreaterThan(0);
      expect(got.runs.topk_indices, method).toBe(got.runs.topk_rank);
      for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
    }
  }, 300_000);

  it("runs every method on WebGL with no synchronous read and the results of TF.js's own kernels", async () => {
    const plans = [
      'tome:r=3',
      'pitome:ratio=0.8',
      'mctf:r=3',
      'ats:k=8,layers=1/2',
      'evit:keep=0.7,layers=1/2',
      'topk:keep=0.7,layers=1/2',
      'diffrate:target_flops=0.8',
      'ppt',
      'atc:keep=0.7',
      'gtp:p=2,sparsity=0.7,scale=1',
    ];
    const got = (await page.evaluate((p) => window.glCompareForwards(p), plans)) as GLForward[];
    expect(got.map((g) => g.plan)).toEqual(plans);
    for (const g of got) {
      expect(g.tokens, g.plan).toEqual(g.tokensGeneric);
      expect(g.tokens.at(-1), g.plan).toBeLessThan(17);
      expect(g.maxLogitDiff, g.plan).toBeLessThan(1e-4);
      expect(g.syncReads, g.plan).toBe(0);
      if (g.plan.startsWith('mctf')) expect(g.runs.mctf_rows_gl, g.plan).toBeGreaterThan(0);
      // ATS reads its kept count once per reducing block (asynchronously), ATC its distances; no other method reads
      if (!g.plan.startsWith('atc')) expect(g.asyncReads, g.plan).toBe(g.plan.startsWith('ats') ? 2 : 0);
      // every block's LayerNorms, softmax and head moves through the block programs (src/model/webgl)
      for (const key of ['layer_norm_stats_gl', 'layer_norm_gl', 'split_heads_gl', 'merge_heads_gl'])
        expect(g.runs[key], `${g.plan} ${key}`).toBeGreaterThanOrEqual(4);
      expect((g.runs.softmax_gl ?? 0) + (g.runs.softmax_sized_gl ?? 0), g.plan).toBeGreaterThanOrEqual(4);
      // rows picked by index (src/tokens/gather-rows.ts) through one program, not TF.js's per-shape gather
      if (/^(diffrate|gtp)/.test(g.plan)) expect(g.runs.gather_rows_gl, g.plan).toBeGreaterThan(0);
      // and the other per-token steps the methods share, each one shader for every count
      if (/^(evit|topk|gtp)/.test(g.plan)) expect(g.runs.selection_target_gl, g.plan).toBeGreaterThan(0);
      if (/^(pitome|diffrate|gtp|atc)/.test(g.plan)) expect(g.runs.row_norms_gl, g.plan).toBeGreaterThan(0);
      if (g.plan.startsWith('gtp')) expect(g.runs.gtp_scores_gl, g.plan).toBe(4); // GTP acts at each of the test model's 4 blocks
      if (g.plan.startsWith('gtp')) expect(g.runs.kth_smallest_gl, g.plan).toBe(4); // and so does its attention sparsity
    }
    // the block programs' shaders do not multiply with the token counts of these ten plans: TF.js keys
    // a shader with shape uniforms only on a few flags (rank, whether a dimension is 1), so at most
    // two each (the device check's batch of two images, and these forwards)
    const counts = new Set(got.flatMap((g) => g.tokens));
    expect(counts.size).toBeGreaterThan(8);
    const shaders = await page.evaluate(() => window.glShaders());
    for (const key of [
      'layer_norm_stats_gl',
      'layer_norm_gl',
      'softmax_stats_gl',
      'softmax_gl',
      'softmax_sized_gl',
      'split_heads_gl',
      'merge_heads_gl',
      'gtp_scores_gl',
      'kth_smallest_gl',
      'selection_target_gl',
    ]) {
      expect(shaders[key], key).toBeGreaterThanOrEqual(1);
      expect(shaders[key], key).toBeLessThanOrEqual(2);
    }
  }, 180_000);

  it("falls back to top-k, and says so, when the device rejects GTP's sparsity program", async () => {
    await page.evaluate(() => window.glForceKernelFailure('attention-sparsity-webgl', true));
    try {
      const [forward] = (await page.evaluate((p) => window.glCompareForwards(p), ['gtp:p=2,sparsity=0.7,scale=1'])) as GLForward[];
      expect(await page.evaluate(() => window.glFamilyStates(['attention-sparsity-webgl']))).toEqual({ 'attention-sparsity-webgl': 'off' });
      expect(forward.runs.kth_smallest_gl ?? 0).toBe(0);
      expect(forward.tokens).toEqual(forward.tokensGeneric);
      expect(forward.maxLogitDiff).toBeLessThan(1e-4);
    } finally {
      await page.evaluate(() => window.glForceKernelFailure('attention-sparsity-webgl', false));
    }
    expect(await page.evaluate(() => window.glFamilyStates(['attention-sparsity-webgl']))).toEqual({ 'attention-sparsity-webgl': 'on' });
  }, 120_000);

  it('falls back to the generic ops, and says so, when the device rejects the block programs', async () => {
    await page.evaluate(() => window.glForceKernelFailure('block-webgl', true));
    try {
      const [forward] = (await page.evaluate((p) => window.glCompareForwards(p), ['tome:r=3'])) as GLForward[];
      expect(await page.evaluate(() => window.glFamilyStates(['block-webgl', 'tome-webgl']))).toEqual({ 'block-webgl': 'off', 'tome-webgl': 'on' });
      expect(Object.keys(forward.runs).filter((k) => /^(layer_norm|softmax|split_heads|merge_heads)/.test(k) && forward.runs[k] > 0)).toEqual([]);
      expect(forward.runs.tome_decide_gl).toBeGreaterThan(0);
      expect(forward.tokens).toEqual(forward.tokensGeneric);
      expect(forward.maxLogitDiff).toBeLessThan(1e-4);
    } finally {
      await page.evaluate(() => window.glForceKernelFailure('block-webgl', false));
    }
    expect(await page.evaluate(() => window.glFamilyStates(['block-webgl']))).toEqual({ 'block-webgl': 'on' });
  }, 120_000);

  const ATS_DECISION = ['ats_score_gl', 'ats_rank_gl', 'ats_sorted_gl', 'ats_cdf_gl', 'ats_pick_gl', 'ats_survive_gl'];

  it("runs every official ATS case through the WebGL ATS programs, and the engine's ATS and selections through them", async () => {
    const cases = loadCases('ats');
    const got = await run('ats', cases);
    expect(got.notes).toEqual([]);
    expect(await page.evaluate(() => window.glFamilyStates(['ats-webgl', 'select-webgl']))).toEqual({ 'ats-webgl': 'on', 'select-webgl': 'on' });
    expect(got.leaked).toBe(0);
    // one decision and one set of evidence programs per case; no generic sort
    for (const key of [...ATS_DECISION, 'ats_sig_gl', 'ats_unique_gl', 'ats_kept_gl']) expect(got.runs[key], key).toBe(cases.length);
    expect(got.runs.topk_rank ?? 0).toBe(0);
    for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);

    // the engine on the test model: two reducing blocks, each its decision, one read of the count, the selection, its apply
    const [forward] = (await page.evaluate((p) => window.glCompareForwards(p), ['ats:k=8,layers=1/2'])) as GLForward[];
    expect(forward.tokens).toEqual(forward.tokensGeneric);
    expect(forward.tokens.at(-1)).toBeLessThan(17);
    // (not bit for bit: the block's own LayerNorm and softmax round differently from TF.js's, ~1e-8)
    expect(forward.maxLogitDiff).toBeLessThan(1e-6);
    expect(forward.syncReads).toBe(0);
    expect(forward.asyncReads).toBe(2);
    for (const key of [...ATS_DECISION, 'ats_count_gl', 'ats_target_gl', 'ats_coeff_gl', 'select_source_gl', 'value_norms_gl'])
      expect(forward.runs[key], key).toBe(2);
    expect(forward.runs.ats_unique_gl ?? 0).toBe(0); // evidence programs only when evidence is asked for
    expect(forward.runs.select_rows_gl).toBeGreaterThanOrEqual(4); // x and the sizes, at least
    expect(forward.runs.topk_rank ?? 0).toBe(0);
  }, 240_000);

  it('falls back to the generic ops, and says so, when the device rejects the ATS programs', async () => {
    await page.evaluate(() => window.glForceKernelFailure('ats-webgl', true));
    try {
      const cases = loadCases('ats').slice(0, 3);
      const got = await run('ats', cases);
      expect(await page.evaluate(() => window.glFamilyStates(['ats-webgl', 'select-webgl']))).toEqual({ 'ats-webgl': 'off', 'select-webgl': 'on' });
      expect(got.notes).toHaveLength(1);
      expect(got.notes[0]).toMatch(/^WebGL rejected the fused ATS kernels \(.+\); ATS runs on generic TF\.js ops instead\.$/);
      for (const key of ATS_DECISION) expect(got.runs[key] ?? 0, key).toBe(0);
      expect(got.runs.topk_rank).toBeGreaterThan(0); // the generic path's sorts
      for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
    } finally {
      await page.evaluate(() => window.glForceKernelFailure('ats-webgl', false));
    }
    expect(await page.evaluate(() => window.glFamilyStates(['ats-webgl']))).toEqual({ 'ats-webgl': 'on' });
  }, 120_000);

  it('falls back to the generic ops, and says so, when the device rejects the ToMe programs', async () => {
    await page.evaluate(() => window.glForceKernelFailure('tome-webgl', true));
    try {
      const cases = loadCases('tome').slice(0, 3);
      const got = await run('tome', cases);
      expect(got.status).toMatchObject({ 'topk-webgl': 'on', 'tome-webgl': 'off' });
      expect(got.notes).toHaveLength(1);
      expect(got.notes[0]).toMatch(/^WebGL rejected the fused ToMe kernels \(.+\); ToMe runs on generic TF\.js ops instead\.$/);
      expect(got.runs.tome_bestmatch_gl ?? 0).toBe(0);
      for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
    } finally {
      await page.evaluate(() => window.glForceKernelFailure('tome-webgl', false));
    }
    const again = await run('tome', loadCases('tome').slice(0, 1));
    expect(again.status['tome-webgl']).toBe('on');
  }, 120_000);

  it('falls back to the generic ops, and says so, when the device rejects the MCTF programs', async () => {
    await page.evaluate(() => window.glForceKernelFailure('mctf-webgl', true));
    try {
      const cases = loadCases('mctf').slice(0, 3);
      const got = await run('mctf', cases);
      expect(got.status).toMatchObject({ 'apply-webgl': 'on', 'mctf-webgl': 'off' });
      expect(got.notes).toHaveLength(1);
      expect(got.notes[0]).toMatch(/^WebGL rejected the fused MCTF kernels \(.+\); MCTF runs on generic TF\.js ops instead\.$/);
      expect(Object.keys(got.runs).filter((k) => k.startsWith('mctf_') && got.runs[k] > 0)).toEqual([]);
      for (const [i, c] of cases.entries()) expectCaseToConform(c, got.outputs[i]);
    } finally {
      await page.evaluate(() => window.glForceKernelFailure('mctf-webgl', false));
    }
    const again = await run('mctf', loadCases('mctf').slice(0, 1));
    expect(again.status['mctf-webgl']).toBe('on');
  }, 120_000);
});
