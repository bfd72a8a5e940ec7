/**
 * `tokenscope bench --browser`: the same benchmark in headless Chromium, one fresh page per
 * backend, against a Vite dev server started in this process (tests/bench/index.html). Chromium
 * flags as in ./chromium.ts: WebGPU on the software adapter needs --enable-unsafe-webgpu
 * and --enable-unsafe-swiftshader. Software GPU timings are not GPU timings: read them as ratios.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenScopeError } from '../errors';
import type { Browser } from 'playwright-core';
import type { BenchRow } from '../measure/bench';
import { type BenchArgs, formatTable } from './bench';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from './chromium';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export async function benchInBrowser(
  args: BenchArgs,
  backends: string[],
  json: boolean,
  threads?: number[],
  fused: 'on' | 'off' | 'compare' = 'on',
): Promise<number> {
  const chromiumPath = CHROMIUM_PATH;
  if (!existsSync(chromiumPath)) {
    throw new TokenScopeError(
      'backend-unavailable',
      `--browser needs Chromium at ${chromiumPath}: install it with 'apt-get install -y chromium' or set CHROMIUM_PATH`,
    );
  }
  if (!ARCH_OK.has(args.arch))
    throw new TokenScopeError('param-out-of-range', `--browser runs the reference architectures (${[...ARCH_OK].join(', ')}), not ${args.arch}`);
  const { createServer } = await import('vite');
  const { chromium } = await import('playwright-core');
  const server = await createServer({
    root: ROOT,
    configFile: resolve(ROOT, 'vite.config.ts'),
    server: { port: 0, host: '127.0.0.1', strictPort: false, hmr: false },
    logLevel: 'error',
  });
  await server.listen();
  const address = server.httpServer?.address();
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS });
  try {
    if (!address || typeof address === 'string') throw new TokenScopeError('internal', 'vite did not bind a port');
    const results: { machine: Record<string, unknown>; rows: BenchRow[] }[] = [];
    const base = `http://127.0.0.1:${address.port}/tests/bench/index.html`;
    // One fresh page per backend, and per wasm thread count: TF.js fixes the count when wasm starts.
    const pages = backends.flatMap((backend) =>
      backend === 'wasm' && threads ? threads.map((t) => ({ backend, threads: t as number | null })) : [{ backend, threads: null }],
    );
    for (const { backend, threads: t } of pages) {
      const page = await browser.newPage();
      try {
        page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
        // the first load transforms the app's modules: on a loaded machine that exceeds Playwright's default 30 s
        await page.goto(t === null ? base : `${base}?threads=${t}`, { timeout: 120_000 });
        await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
        for (const batch of args.batches) {
          if (!json)
            console.error(
              `bench: ${args.arch} in Chromium on ${backend}${t === null ? '' : ` (${t} thread(s) asked)`}, batch ${batch}, ${args.plans.length} plan(s)...`,
            );
          const options = { batch, runs: args.runs ?? 3, warmup: args.warmup ?? 1, settled: args.settled, fused };
          const got = await page.evaluate(([b, a, p, o]) => window.tokenscopeBench(b as never, a as string, p as string[], o as never), [
            backend,
            args.arch,
            args.plans,
            options,
          ] as const);
          results.push(got);
          if (!json) {
            console.log(`${args.arch} in Chromium on ${got.machine.backend}: ${describeMachine(got.machine)}`);
            console.log(formatTable(got.rows));
          }
        }
      } finally {
        await page.close();
      }
    }
    const agreement = threads && threads.length > 1 && backends.includes('wasm') ? await compareThreads(browser, base, threads, args.plans) : null;
    if (!json && threads && threads.length > 1) console.log(threadSummary(results, agreement));
    if (json)
      console.log(
        JSON.stringify({
          results: results.flatMap((r) => r.rows.map((row) => ({ ...row, machine: r.machine }))),
          ...(agreement ? { threads_agreement: agreement } : {}),
        }),
      );
    else console.log('Medians of interleaved rounds; realized = speed-up ÷ FLOP ratio. 2nd/steady: second call ÷ steady median.');
    return 0;
  } finally {
    await browser.close();
    await server.close();
  }
}

const ARCH_OK = new Set(['deit-t', 'deit-s', 'deit-b', 'vit-b']);

function describeMachine(m: Record<string, unknown>): string {
  const parts = [`${m.cores} logical cores`];
  if (m.threads !== undefined) parts.push(`${m.threads} wasm thread(s)${m.crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}`);
  if (m.adapter) parts.push(`adapter ${JSON.stringify(m.adapter)}`);
  if (m.renderer) parts.push(`renderer ${m.renderer}`);
  parts.push(String(m.userAgent).replace(/^.*(Chrome\/[\d.]+).*$/, '$1'));
  return parts.join(', ');
}

/** The bundled model's first images per thread count, against the first count: logits and token counts. */
export interface ThreadsAgreement {
  images: number;
  /** Per thread count after the first: the largest |Δ logit| over every plan and image, and whether every token count matched. */
  against: { threads: number; max_abs_logit_diff: number; counts_equal: boolean }[];
}

const AGREEMENT_IMAGES = 16;

async function compareThreads(browser: Browser, base: string, threads: number[], plans: string[]): Promise<ThreadsAgreement> {
  const runs = [];
  for (const t of threads) {
    const page = await browser.newPage();
    try {
      await page.goto(`${base}?threads=${t}`, { timeout: 120_000 });
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
      runs.push(await page.evaluate(({ p, n }) => window.tokenscopeBundledRun('wasm', p, n), { p: ['none', ...plans], n: AGREEMENT_IMAGES }));
    } finally {
      await page.close();
    }
  }
  const [first, ...rest] = runs;
  return {
    images: AGREEMENT_IMAGES,
    against: rest.map((run, i) => {
      let diff = 0;
      let countsEqual = true;
      run.forEach((r, p) => {
        r.logits.forEach((row, img) => row.forEach((v, c) => (diff = Math.max(diff, Math.abs(v - first[p].logits[img][c])))));
        countsEqual &&= JSON.stringify(r.counts) === JSON.stringify(first[p].counts);
      });
      return { threads: threads[i + 1], max_abs_logit_diff: diff, counts_equal: countsEqual };
    }),
  };
}

/** Unreduced and per-plan median latency per wasm thread count, as a speed-up over the first count. */
function threadSummary(results: { machine: Record<string, unknown>; rows: BenchRow[] }[], agreement: ThreadsAgreement | null): string {
  const wasm = results.filter((r) => r.machine.backend === 'wasm');
  if (wasm.length < 2) return '';
  const [first, ...rest] = wasm;
  const lines = ['Threads (wasm): median ms, and speed-up over the first thread count'];
  for (const [i, row] of first.rows.entries()) {
    const cells = [
      `  ${row.plan} (batch ${row.batch}): ${first.machine.threads} thread(s) ${row.ms_base.toFixed(1)} ms unreduced, ${row.ms_plan.toFixed(1)} ms with the plan`,
    ];
    for (const r of rest) {
      const o = r.rows[i];
      cells.push(
        `${r.machine.threads} thread(s) ${o.ms_base.toFixed(1)} / ${o.ms_plan.toFixed(1)} ms (×${(row.ms_base / o.ms_base).toFixed(2)} / ×${(row.ms_plan / o.ms_plan).toFixed(2)})`,
      );
    }
    lines.push(cells.join('; '));
  }
  if (agreement) {
    for (const a of agreement.against) {
      lines.push(
        `  bundled model, first ${agreement.images} eval images, unreduced and every plan: ${a.threads} vs ${first.machine.threads} thread(s): max |Δ logit| ${a.max_abs_logit_diff.toExponential(2)}, token counts ${a.counts_equal ? 'identical' : 'DIFFERENT'}`,
      );
    }
  }
  return lines.join('\n');
}
