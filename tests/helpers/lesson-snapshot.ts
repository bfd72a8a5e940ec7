/**
 * Everything a lesson walk checks at one step, read from the page in one round trip once the step
 * is shown, its run is done (the given plan, and input if given) and every live number is filled:
 * the step counter, the live numbers, the per-block token counts and FLOPs, the total GFLOPs and
 * what the step outlines. A walk over sixty steps on a busy machine pays per round trip.
 */
import type { Page } from 'playwright-core';

export interface StepSnapshot {
  step: string;
  live: Record<string, string>;
  /** Tokens entering each block, then leaving the last (the table's cells). */
  counts: string[];
  /** The table's model MFLOPs per block. */
  blockMflops: string[];
  gflops: string;
  /** Blocks whose table row is outlined. */
  flopsRows: number[];
  highlight: { kind: string; rows: number; edges: number } | null;
  /** Rows of the outlined tokens on the why view's grid, and how many edges are outlined. */
  rows: number[];
  edges: number;
  cdf: boolean;
}

/** `waitFor`: the live numbers to wait for ('computed': all but the measured latencies, which come after several timed runs). */
export async function stepSnapshot(
  page: Page,
  want: { step: string; plan: string; layer: number; input?: string; waitFor?: 'all' | 'computed' },
  timeout = 90_000,
): Promise<StepSnapshot> {
  const handle = await page
    .waitForFunction(
      ({ step, plan, layer, input, computedOnly }) => {
        const q = (sel: string) => document.querySelector(sel) as HTMLElement | null;
        const all = (sel: string) => [...document.querySelectorAll(sel)] as HTMLElement[];
        const status = q('[data-testid="run-status"]');
        if (q('[data-testid="lesson-step"]')?.textContent !== step) return false;
        if (status?.dataset.state !== 'done' || status.dataset.plan !== plan || (input && status.dataset.input !== input)) return false;
        if (!q(`[data-testid="flops-row-${layer}"]`)?.classList.contains('selected')) return false; // the step's block is selected
        const live = Object.fromEntries(all('[data-testid="lesson-live"]').map((e) => [e.dataset.name!, e.textContent!]));
        if (Object.entries(live).some(([name, v]) => v === '…' && !(computedOnly && name.startsWith('latency')))) return false;
        const counts = all('[data-testid^="token-count-layer-"]').map((e) => e.textContent!);
        counts.push(q('[data-testid="token-count-out"]')?.textContent ?? '');
        const caption = q('[data-testid="lesson-highlight"]');
        return {
          step: q('[data-testid="lesson-step"]')!.textContent!,
          live,
          counts,
          blockMflops: all('[data-testid^="block-mflops-"]').map((e) => e.textContent!),
          gflops: q('[data-testid="gflops-total"]')?.textContent ?? '',
          flopsRows: all('[data-testid^="flops-row-"][data-highlighted="1"]').map((e) => Number(e.dataset.testid!.slice('flops-row-'.length))),
          highlight: caption ? { kind: caption.dataset.kind!, rows: Number(caption.dataset.rows), edges: Number(caption.dataset.edges) } : null,
          rows: all('[data-testid="evidence-token"][data-highlighted="1"]')
            .map((e) => Number(e.dataset.row))
            .sort((a, b) => a - b),
          edges: all('[data-testid="evidence-edge"][data-highlighted="1"]').length,
          cdf: q('[data-testid="cdf-wrap"]')?.dataset.highlighted === '1',
        };
      },
      { step: want.step, plan: want.plan, layer: want.layer, input: want.input ?? '', computedOnly: want.waitFor === 'computed' },
      { timeout, polling: 100 },
    )
    .catch(async (e: Error) => {
      // Say which condition never held.
      const seen = await page.evaluate(() => {
        const status = document.querySelector('[data-testid="run-status"]') as HTMLElement | null;
        return {
          step: document.querySelector('[data-testid="lesson-step"]')?.textContent,
          run: status ? { ...status.dataset } : null,
          selected: document.querySelector('tr.selected')?.getAttribute('data-testid'),
          live: [...document.querySelectorAll('[data-testid="lesson-live"]')].map((el) => `${(el as HTMLElement).dataset.name}=${el.textContent}`),
        };
      });
      throw new Error(`${e.message}\nwanted ${JSON.stringify(want)}\nsaw ${JSON.stringify(seen)}`);
    });
  const snapshot = (await handle.jsonValue()) as StepSnapshot;
  await handle.dispose();
  return snapshot;
}
