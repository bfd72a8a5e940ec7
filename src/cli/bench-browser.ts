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
import type { BenchRow } from '../measure/bench';
import { type BenchArgs, formatTable } from './bench';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from './chromium';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export async function benchInBrowser(args: BenchArgs, backends: string[], json: boolean): Promise<number> {
  const chromiumPath = CHROMIUM_PATH;
  if (!existsSync(chromiumPath)) {
    throw new TokenScopeError('backend-unavailable', `--browser needs Chromium at ${chromiumPath}: install it with 'apt-get install -y chromium' or set CHROMIUM_PATH`);
  }
  if (!ARCH_OK.has(args.arch)) throw new TokenScopeError('param-out-of-range', `--browser runs the reference architectures (${[...ARCH_OK].join(', ')}), not ${args.arch}`);
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
    for (const backend of backends) {
      const page = await browser.newPage();
      try {
        page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
        await page.goto(`http://127.0.0.1:${address.port}/tests/bench/index.html`);
        await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
        for (const batch of args.batches) {
          if (!json) console.error(`bench: ${args.arch} in Chromium on ${backend}, batch ${batch}, ${args.plans.length} plan(s)...`);
          const options = { batch, runs: args.runs ?? 3, warmup: args.warmup ?? 1 };
          const got = await page.evaluate(([b, a, p, o]) => window.tokenscopeBench(b as never, a as string, p as string[], o as never), [backend, args.arch, args.plans, options] as const);
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
    if (json) console.log(JSON.stringify({ results: results.flatMap((r) => r.rows.map((row) => ({ ...row, machine: r.machine }))) }));
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
  if (m.adapter) parts.push(`adapter ${JSON.stringify(m.adapter)}`);
  if (m.renderer) parts.push(`renderer ${m.renderer}`);
  parts.push(String(m.userAgent).replace(/^.*(Chrome\/[\d.]+).*$/, '$1'));
  return parts.join(', ');
}
