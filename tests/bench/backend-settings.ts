/**
 * Backend settings against each other in one interleaved run, in headless Chromium (the bench
 * page's `tokenscopeBenchSettings`): every (setting, plan) pair is a candidate, each setting's plans
 * are compared with that setting's unreduced model. A script, not a test. Usage:
 *   npx tsx tests/bench/backend-settings.ts [--backend webgl] [--arch deit-t] [--settings tfjs,gpu-topk]
 *        [--pool keep-used|keep-all] [--runs 3] [--warmup 0] PLAN...
 */
import { parseArgs } from 'node:util';
import { startBrowserSession } from '../helpers/browser';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: 'string', default: 'webgl' },
    arch: { type: 'string', default: 'deit-t' },
    settings: { type: 'string', default: 'tfjs,gpu-topk' },
    pool: { type: 'string', default: 'keep-used' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0' },
  },
});
const plans = positionals.length ? positionals : ['tome:r=13', 'pitome:ratio=0.9', 'mctf:r=16', 'ats', 'evit:keep=0.7,layers=3/6/9', 'topk:keep=0.7,layers=3/6/9'];

const session = await startBrowserSession();
try {
  const page = await session.newPage('/tests/bench/index.html', 180_000);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
  const rows = await page.evaluate(([b, a, p, s, o]) => window.tokenscopeBenchSettings(b as never, a as string, p as string[], s as string[], o as never), [
    values.backend,
    values.arch,
    plans,
    values.settings.split(','),
    { batch: 1, runs: Number(values.runs), warmup: Number(values.warmup), pool: values.pool },
  ] as const);
  console.log(`${values.arch} on ${values.backend}, pool ${values.pool}, medians of ${values.runs} interleaved rounds`);
  console.log('| setting | plan | ms base | ms plan | speed-up | FLOP ratio | realized | 1st ms |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.setting} | \`${r.plan}\` | ${r.ms_base.toFixed(0)} | ${r.ms.toFixed(0)} | ${r.speedup.toFixed(2)} | ${r.flop_ratio.toFixed(2)} | ${r.realized.toFixed(2)} | ${r.first_ms.toFixed(0)} |`,
    );
} finally {
  await session.close();
}
