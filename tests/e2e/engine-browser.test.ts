import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/model/backend';
import { PROBE_PLANS, runEngineProbe, type ProbeResult } from '../helpers/engine-probe';
import { startBrowserSession, type BrowserSession } from '../helpers/browser';

// A model with DeiT-Tiny's 197-token grid and 12 blocks (tests/helpers/engine-probe.ts) and seeded random weights runs every method in Node (wasm)
// and in headless Chromium (WebGPU on the software adapter, WebGL2 on SwiftShader, and wasm): token
// counts must agree exactly and logits within 1e-3.
describe('the engine in Chromium agrees with Node', () => {
  let session: BrowserSession;
  let node: ProbeResult[];

  beforeAll(async () => {
    await useBackend('wasm');
    node = await runEngineProbe(PROBE_PLANS);
    session = await startBrowserSession();
  }, 600_000);

  afterAll(async () => {
    await session?.close();
  });

  for (const backend of ['webgpu', 'webgl', 'wasm'] as const) {
    it(`runs every method on ${backend} with Node's token counts and logits`, async () => {
      const page = await session.newPage('/tests/e2e/harness/index.html');
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
      const got = (await page.evaluate(([b, plans]) => window.tokenscopeProbe(b as 'webgpu' | 'webgl' | 'wasm', plans as string[]), [
        backend,
        PROBE_PLANS,
      ] as const)) as {
        backend: string;
        results: ProbeResult[];
        leaked: number;
      };
      expect(got.backend).toBe(backend);
      expect(got.leaked).toBe(0);
      for (const [i, r] of got.results.entries()) {
        expect(r.plan).toBe(node[i].plan);
        expect(r.tokens, r.plan).toEqual(node[i].tokens);
        const maxDiff = Math.max(...r.logits.map((v, j) => Math.abs(v - node[i].logits[j])));
        expect(maxDiff, `${r.plan}: max |logit difference|`).toBeLessThan(1e-3);
      }
      await page.close();
    }, 900_000);
  }
});
