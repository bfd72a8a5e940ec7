/**
 * Each of MCTF's WebGPU programs alone at DeiT-T's shapes (N = 197, C = 192, 3 heads, r = 16), in
 * headless Chromium, with ToMe's two programs, the shared apply and the block's qkv matmul for
 * scale: which program a reducing MCTF block spends its time in. A script, not a test. Usage:
 *   npx tsx tests/bench/mctf-programs.ts [--calls 5] [--rounds 2]
 * Prints per round the load average and the milliseconds per call of each program.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startBrowserSession } from '../helpers/browser';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' } } });

const session = await startBrowserSession();
try {
  const page = await session.newPage('/tests/bench/mctf-programs/index.html', 180_000);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 180_000 });
  for (let round = 0; round < Number(values.rounds); round++) {
    const ms = await page.evaluate((calls) => window.timeMctfPrograms(calls), Number(values.calls));
    console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    for (const [name, v] of Object.entries(ms)) console.log(`  ${name.padEnd(16)} ${v.toFixed(1).padStart(8)} ms`);
  }
} finally {
  await session.close();
}
