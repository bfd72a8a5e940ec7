/**
 * GPU memory over many forwards of random plans, per pool policy (src/model/gpu-memory.ts), in
 * headless Chromium. A script, not a test. Usage:
 *   npx tsx tests/bench/gpu-memory.ts [--backends webgpu,webgl] [--model tiny|deit-t] [--forwards 1000]
 *                                     [--policies keep-all,keep-used,keep-none] [--sizes classes|exact] [--replace on,off]
 * Prints, per backend and policy: the reference (held after the first unreduced forward), the most
 * held after any forward, the most held at any point of a forward (before its trim), and the time.
 */
import { parseArgs } from 'node:util';
import { startBrowserSession } from '../helpers/browser';
import type { GpuMemoryRun } from '../helpers/gpu-memory-run';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'webgpu,webgl' },
    model: { type: 'string', default: 'tiny' },
    forwards: { type: 'string', default: '1000' },
    policies: { type: 'string', default: 'keep-all,keep-used' },
    sizes: { type: 'string', default: 'classes' },
    replace: { type: 'string', default: 'on' },
  },
});

const session = await startBrowserSession();
const mib = (b: number) => (b / 2 ** 20).toFixed(3);
try {
  console.log(
    '| backend | model | policy | buffer sizes | replace on miss | forwards | reference MiB | max held after a forward MiB | ×ref | max held inside a forward MiB | ×ref | held at end MiB | s |',
  );
  console.log('| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const backend of values.backends.split(',')) {
    for (const policy of values.policies.split(','))
      for (const replace of values.replace.split(',')) {
        // a fresh page per run: each starts from an empty pool
        const page = await session.newPage('/tests/e2e/harness/index.html', 180_000);
        try {
          await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
          const r = (await page.evaluate(
            ([b, m, f, p, c, r]) =>
              window.tokenscopeGpuMemory(b as never, m as string, {
                forwards: Number(f),
                policy: p as never,
                sizes: c as never,
                replace: r === 'on',
              }),
            [backend, values.model, values.forwards, policy, values.sizes, replace] as const,
          )) as GpuMemoryRun;
          const x = (b: number) => (b / r.referenceBytes).toFixed(2);
          console.log(
            `| ${r.backend} | ${values.model} | ${r.policy} | ${r.backend === 'webgpu' ? r.sizes : '—'} | ${r.replace ? 'yes' : 'no'} | ${r.forwards} | ${mib(r.referenceBytes)} | ${mib(r.maxHeldBytes)} | ${x(r.maxHeldBytes)} | ${mib(r.peakBytes)} | ${x(r.peakBytes)} | ${mib(r.finalHeldBytes)} | ${(r.ms / 1000).toFixed(1)} |`,
          );
          console.log(`  peak: ${r.peakPlan}`);
          if (process.env.SERIES) console.log(`  held every ${r.forwards / r.heldAfter.length}: ${r.heldAfter.map(mib).join(' ')}`);
          if (r.tensorsLeaked !== 0 || !r.bounded) console.log(`  tensors leaked: ${r.tensorsLeaked}, policy can free the pool: ${r.bounded}`);
        } finally {
          await page.close();
        }
      }
  }
} finally {
  await session.close();
}
