/**
 * An accessibility audit with axe-core, run inside the real pages: the playground, the compare
 * page (with its lesson panel), the lesson index and a lesson in the presenter layout (with a step's
 * highlight), each once its first run is shown.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserSession, type BrowserSession } from '../helpers/browser';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let session: BrowserSession;

describe('accessibility (axe-core)', () => {
  beforeAll(async () => {
    session = await startBrowserSession();
  }, 120_000);
  afterAll(async () => {
    await session?.close();
  });

  const pages: [string, string][] = [
    ['the playground', '/?backend=wasm'],
    ['the compare page, with its Pareto lesson open', '/compare.html?backend=wasm&n=40&methods=tome,evit&lesson=pareto&step=2'],
    ['the lesson index', '/?lesson=index&backend=wasm'],
    ['a lesson in the presenter layout', '/?lesson=merging&step=2&present=1&backend=wasm'],
  ];
  for (const [what, path] of pages) {
    it(`finds no violations on ${what}`, async () => {
      const page = await session.newPage(path);
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid="run-status"]')?.getAttribute('data-state') === 'done' ||
          document.querySelector('[data-testid="plot-provenance"]') !== null,
        null,
        { timeout: 120_000 },
      );
      await page.addScriptTag({ content: AXE });
      const violations = await page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run(d: Document): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
        return (await axe.run(document)).violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      });
      expect(violations).toEqual([]);
      await page.close();
    }, 180_000);
  }
});
