/**
 * The why view in headless Chromium: for every method, each token's score on the page
 * (data-testid="evidence-token", data-score) equals what `tokenscope predict --evidence` prints for
 * the same image and plan (within 1e-5), token by token; a token without a score of its own has
 * no data-score on the page and "score": null in the CLI. The image is eval sample 305 of the
 * bundled set, handed to the CLI as the 28×28 PNG the page normalises.
 *
 * With UPDATE_DOCS_SCREENSHOTS=1 the view of each method is saved to docs/screenshots/why-<method>.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { predictCommand } from '../../src/cli/predict';
import { parseEvalSet } from '../../src/io/eval-set';
import { encodePng } from '../../src/io/png';
import { useBackend } from '../../src/model/backend';
import { parseConfig } from '../../src/model/config';
import type { EvidenceRecord } from '../../src/reduce/evidence';
import { formatPlan, METHOD_IDS, planFromText } from '../../src/reduce/plan';
import { ARTIFACTS, startBrowserSession, type BrowserSession } from '../helpers/browser';

const MODEL_DIR = 'models/fmnist-vit';
const SAMPLE = 305;

let session: BrowserSession;
/** The one page every method's test types its plan into. */
let shared: Page | undefined;
let dir: string;
let png: string;
let depth: number;

/** `tokenscope predict --evidence --json` in this process. */
async function cliEvidence(plan: string): Promise<EvidenceRecord[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  try {
    expect(await predictCommand.run(['--model', MODEL_DIR, '--image', png, '--plan', plan, '--json', '--evidence'])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(lines.join('\n')).evidence;
}

async function pageTokens(page: Page): Promise<{ row: number; score: number | null }[]> {
  return page.$$eval('[data-testid="decision-view"] [data-testid="evidence-token"]', (els) =>
    els.map((el) => ({ row: Number(el.getAttribute('data-row')), score: el.hasAttribute('data-score') ? Number(el.getAttribute('data-score')) : null })),
  );
}

describe('the why view', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    depth = parseConfig(JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8'))).num_hidden_layers;
    const set = parseEvalSet(new Uint8Array(readFileSync('public/data/fmnist-test-1000.bin')));
    const px = set.size * set.size;
    dir = mkdtempSync(join(tmpdir(), 'tokenscope-why-'));
    png = join(dir, `eval-${SAMPLE}.png`);
    writeFileSync(
      png,
      encodePng(Uint8Array.from(set.images.subarray(SAMPLE * px, (SAMPLE + 1) * px)), set.size, set.size, 1, (raw) => deflateSync(raw)),
    );
    session = await startBrowserSession();
    if (process.env.UPDATE_DOCS_SCREENSHOTS) mkdirSync('docs/screenshots', { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const method of METHOD_IDS) {
    it(`${method}: every token's score on the page equals predict --evidence's for the same image and plan`, async () => {
      const plan = formatPlan(planFromText(method, depth));
      const records = (await cliEvidence(plan)).filter((r) => !r.idle);
      expect(records.length, 'a block that decided').toBeGreaterThan(0);
      const record = records[Math.min(1, records.length - 1)];
      // One page for every method (each a plan typed into it), as a user compares them.
      const page = (shared ??= await session.newPage(`/?sample=eval-${SAMPLE}&backend=wasm`));
      await page.setViewportSize({ width: 1400, height: 1000 });
      await page.getByTestId('plan-text').fill(plan);
      await page.waitForFunction(
        ([p]) => {
          const el = document.querySelector('[data-testid="run-status"]') as HTMLElement | null;
          return el?.dataset.state === 'done' && el.dataset.plan === p && el.dataset.input?.startsWith('sample:eval-');
        },
        [plan] as const,
        { timeout: 90_000 },
      );
      await page.getByRole('button', { name: new RegExp(`^Show block ${record.layer}\\b`) }).click();
      await page.waitForSelector(`[data-testid="decision-view"][data-layer="${record.layer}"] [data-testid="evidence-token"]`);
      const shown = await pageTokens(page);
      const byRow = new Map(record.tokens.map((t) => [t.row, t.score]));
      expect(shown.length).toBe(record.tokens.length);
      expect(new Set(shown.map((t) => t.row))).toEqual(new Set(byRow.keys()));
      for (const t of shown) {
        const cli = byRow.get(t.row)!;
        if (cli === null) expect(t.score, `row ${t.row}`).toBeNull();
        else expect(Math.abs(t.score! - cli), `row ${t.row}: page ${t.score}, CLI ${cli}`).toBeLessThanOrEqual(1e-5);
      }
      expect(shown.filter((t) => t.score !== null).length).toBe(record.tokens.filter((t) => t.score !== null).length);
      const sentence = await page.getByTestId('evidence-sentence').textContent();
      expect(sentence).toMatch(/\d/);
      // hovering a patch token explains that token
      const target = shown.find((t) => t.score !== null && t.row > 0)!;
      await page.locator(`[data-testid="decision-view"] g[data-testid="evidence-token"][data-row="${target.row}"] rect`).first().hover();
      await expect.poll(() => page.getByTestId('evidence-sentence').getAttribute('data-row')).toBe(String(target.row));
      const view = page.getByTestId('decision-view');
      await view.screenshot({ path: join(ARTIFACTS, `why-${method}.png`) });
      if (process.env.UPDATE_DOCS_SCREENSHOTS) await view.screenshot({ path: `docs/screenshots/why-${method}.png` });
    }, 150_000);
  }

  it('a block without a method says that nothing was decided there, and why (a block opened from the link)', async () => {
    const plan = formatPlan(planFromText('evit:keep=0.7,layers=1', depth));
    const linked = await session.newPage(`/?plan=${encodeURIComponent(plan)}&sample=eval-${SAMPLE}&layer=0&backend=wasm`);
    await linked.waitForFunction(() => (document.querySelector('[data-testid="run-status"]') as HTMLElement | null)?.dataset.state === 'done', null, {
      timeout: 90_000,
    });
    await expect.poll(() => linked.getByTestId('evidence-sentence').textContent()).toMatch(/Nothing was decided here: block 0 is not in the plan/);
    expect(await linked.locator('[data-testid="evidence-token"]').count()).toBe(0);
    await linked.close();
  }, 120_000);
});
