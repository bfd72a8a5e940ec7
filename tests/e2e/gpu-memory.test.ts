import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startBrowserSession, type BrowserSession } from '../helpers/browser';
import type { GpuMemoryRun } from '../helpers/gpu-memory-run';

// Forwards of random plans (every method, mixed plans, fates and evidence recorded or not) on the
// 4-block test model, on WebGPU and WebGL (SwiftShader here): what the backend holds on the GPU
// after each forward, its free pool included, stays within 2× of what the first unreduced forward
// needed with TF.js as it is (exact buffer sizes, nothing freed). Without the pool policy
// (src/model/gpu-memory.ts) the same draws pass 3× within ten forwards (4–6× by forty) and keep
// growing. SwiftShader takes 0.5–2 s a forward, so the 1,000-forward run is a benchmark
// (tests/bench/gpu-memory.ts, docs/PERFORMANCE.md#memory).
const FORWARDS = 20;

describe('GPU memory over many plans', () => {
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    session = await startBrowserSession();
    page = await session.browser.newPage();
    await page.goto(`${session.baseUrl}/tests/e2e/harness/index.html`, { timeout: 120_000 }); // Vite's first transform of the engine, on a busy machine
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
  }, 240_000);

  afterAll(async () => {
    await session?.close();
  });

  for (const backend of ['webgpu', 'webgl'] as const) {
    it(`${backend}: what is held stays within 2× of the first unreduced forward over ${FORWARDS} random plans`, async () => {
      const run = (await page.evaluate(([b, n]) => window.tokenscopeGpuMemory(b, 'tiny', { forwards: n }), [backend, FORWARDS] as const)) as GpuMemoryRun;
      expect(run.backend).toBe(backend);
      expect(run.bounded).toBe(true);
      expect(run.tensorsLeaked).toBe(0);
      expect(run.referenceBytes).toBeGreaterThan(0);
      expect(run.maxHeldBytes / run.referenceBytes, 'held after a forward ÷ reference').toBeLessThanOrEqual(2);
      // and inside every forward: a buffer (texture) created there replaces free ones once the pool
      // is past 1.25× the most in use (without that, WebGL's exact texture shapes reached 2.2–2.5×)
      expect(run.peakBytes / run.referenceBytes, 'most held inside a forward ÷ reference').toBeLessThanOrEqual(2);
    }, 180_000);
  }

  // The NaN that kept size classes off: TF.js's WebGPU matmul reads B past its end (times A's zero
  // padding). With every buffer released to the pool filled with NaN first, any read of a rounded
  // buffer's slack, or of anything a tensor did not write, shows as a NaN or a changed trace. Batch of
  // two: the read past the end is past the second image. Every method in four plans.
  it('webgpu: size classes change no number, over NaN-filled pool buffers (logits, fates and evidence bit for bit)', async () => {
    const plans = [
      'mctf:r=2,layers=0-1+tome:r=2,layers=2+pitome:ratio=0.8,layers=3',
      'evit:keep=0.7,layers=0+topk:keep=0.7,layers=1+ats:layers=2+atc:keep=0.7,layers=3',
      'ppt:r=1,layers=0-1+diffrate:layers=2-3',
      'gtp:p=2',
    ];
    const got = await page.evaluate((p) => window.tokenscopeSizeClassesAgree(p, { batch: 2, poison: true }), plans);
    expect(got.map((r) => r.plan)).toEqual(plans);
    for (const r of got) {
      expect(r.nan, r.plan).toBe(false);
      expect(r.maxDiff, r.plan).toBe(0);
      expect(r.tracesEqual, r.plan).toBe(true);
    }
  }, 180_000);
});
