/**
 * The compare page (compare.html) in headless Chromium, against the CLI and the engine in Node.
 *
 * - The page's sweep on the first 40 bundled images (wasm) gives the points `tokenscope sweep
 *   --json` prints for the same images and batch size: method, plan, GFLOPs, accuracy and
 *   agreement identical; KL to 1e-9 (identical on this machine). The JSON and CSV exports and the plot carry the
 *   same numbers.
 * - A sweep over all 1,000 images is cancelled midway: the worker's tensor count is unchanged,
 *   the page answers while it runs, and the cached 40-image sweep comes back without evaluating.
 * - Equal budget: the page picks what `tokenscope sweep --budget 60%` picks.
 * - Side by side: one slider moves every grid; the IoU table equals kept-iou.ts on Node's traces.
 * - The user's images: a labelled folder (T-shirt_top for T-shirt/top) scored like the engine in
 *   Node, an unknown class folder refused with the labels listed, loose files give fidelity only.
 * - The built site, served from a sub-folder: a link with methods and a budget is restored and
 *   matches the CLI; after a reload every score comes from IndexedDB.
 *
 * Uses the bundled model when models/fmnist-vit exists, else the page's seeded stand-in (written
 * to a temporary model directory for the CLI). One page is shared, in order, to keep the run short.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keptAgreement } from '../../src/app/compare/kept-iou';
import type { SweepRow } from '../../src/app/compare/protocol';
import { SWEEP_CSV_COLUMNS } from '../../src/app/compare/export';
import { greyToRgba } from '../../src/app/image/decode';
import { prepareInput } from '../../src/app/image/preprocess';
import { normalizeU8, resolvePreprocess } from '../../src/io/preprocess';
import { FALLBACK_CONFIG_JSON, FALLBACK_SEED } from '../../src/app/model/fallback';
import { sweepCommand } from '../../src/cli/sweep';
import { parseEvalSet } from '../../src/io/eval-set';
import { decodeImageBytes } from '../../src/io/decode-image-node';
import { evaluatePlans } from '../../src/measure/evaluate';
import { useBackend } from '../../src/model/backend';
import { parseConfig } from '../../src/model/config';
import { loadModelDir } from '../../src/model/load-node';
import { type Model, runForward } from '../../src/model/run';
import { listWeights, randomWeights, weightsToTimm } from '../../src/model/weights';
import { compilePlan } from '../../src/reduce/compile';
import { METHOD_IDS, planFromText } from '../../src/reduce/plan';
import { sweepPlans } from '../../src/measure/sweep';
import { writeModelDir } from '../../src/train/export';
import { ARTIFACTS, startBrowserSession, type BrowserSession } from '../helpers/browser';
import { builtSite, hostInSubfolder } from '../helpers/built-site';

const BUNDLED = 'models/fmnist-vit';
const SET = 'public/data/fmnist-test-1000.bin';
const BATCH = '25'; // the page's batch size (COMPARE_BATCH)
const work = mkdtempSync(join(tmpdir(), 'tokenscope-compare-e2e-'));

let session: BrowserSession;
let page: Page;
let modelDir: string;
let model: Model;
let trained: boolean;

type CliRow = Pick<SweepRow, 'method' | 'plan' | 'gflops' | 'accuracy' | 'agreement' | 'kl' | 'param' | 'value'>;

async function cli(args: string[]): Promise<CliRow[]> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await sweepCommand.run(['--model', modelDir, '--eval-set', SET, '--batch', BATCH, '--json', ...args])).toBe(0);
    return JSON.parse(log.mock.calls.at(-1)![0] as string);
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

/** The points as the plot draws them (data attributes of each mark). */
async function plotted(): Promise<Record<string, string>[]> {
  return page
    .locator('[data-testid="pareto-point"]')
    .evaluateAll((els) => els.map((e) => ({ ...(e as HTMLElement).dataset, href: e.getAttribute('href') ?? '' }) as Record<string, string>));
}

async function downloadText(testId: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync((await d.path())!, 'utf8');
}

async function waitForResult(kind: string, n: number, timeout = 120_000, on: Page = page): Promise<void> {
  await on.waitForFunction(
    ([k, count]) => {
      const el = document.querySelector('[data-testid="plot-provenance"]') as HTMLElement | null;
      const idle = document.querySelector('[data-testid="progress-text"]')?.textContent === 'Idle.';
      return idle && el?.dataset.kind === k && el.dataset.n === String(count);
    },
    [kind, n] as const,
    { timeout },
  );
}

function expectSamePoints(page: CliRow[], want: CliRow[]): void {
  expect(page.map((r) => r.plan)).toEqual(want.map((r) => r.plan));
  for (const [i, w] of want.entries()) {
    const g = page[i];
    expect({ method: g.method, plan: g.plan, gflops: g.gflops, accuracy: g.accuracy, agreement: g.agreement, param: g.param, value: g.value }, w.plan).toEqual({
      method: w.method,
      plan: w.plan,
      gflops: w.gflops,
      accuracy: w.accuracy,
      agreement: w.agreement,
      param: w.param,
      value: w.value,
    });
    // KL sums float32 log-probabilities; identical here, allowed 1e-9 for wasm builds that round differently.
    expect(Math.abs(g.kl - w.kl), `${w.plan}: KL ${g.kl} vs ${w.kl}`).toBeLessThanOrEqual(1e-9);
  }
}

const pngPixels = (path: string) => decodeImageBytes(new Uint8Array(readFileSync(path)), path);

describe('the compare page', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    trained = existsSync(join(BUNDLED, 'config.json')) && existsSync(join(BUNDLED, 'model.safetensors'));
    if (trained) {
      modelDir = BUNDLED;
    } else {
      // The page's stand-in, as a model directory the CLI can read.
      const config = parseConfig(FALLBACK_CONFIG_JSON);
      const w = randomWeights(config, FALLBACK_SEED);
      modelDir = join(work, 'stand-in');
      writeModelDir(modelDir, config, await weightsToTimm(config, w));
      tf.dispose(listWeights(w));
    }
    model = loadModelDir(modelDir);
    session = await startBrowserSession();
    page = await session.newPage('/compare.html?n=40&backend=wasm');
    await page.setViewportSize({ width: 1400, height: 1000 });
    page.on('dialog', (d) => {
      throw new Error(`unexpected dialog: ${d.message()}`);
    });
  }, 180_000);

  afterAll(async () => {
    await session?.close();
    if (model) tf.dispose(listWeights(model.weights));
    rmSync(work, { recursive: true, force: true });
  });

  it('sweeps every method on 40 bundled images with the points `tokenscope sweep --json` prints, and exports them', async () => {
    const want = await cli(['--limit', '40']);
    // every method's sweep (40 plans with GTP's) runs in the page while the CLI runs its own
    await waitForResult('bundled', 40, 300_000);
    expect(await page.getByTestId(trained ? 'trained' : 'untrained').count()).toBe(1);
    expect(await page.getByTestId('plot-provenance').textContent()).toMatch(/live on the bundled set \(40 images\).*wasm, batches of 25/);

    const record = JSON.parse(await downloadText('export-json'));
    expect(record).toMatchObject({
      format: 'tokenscope-sweep',
      backend: 'wasm',
      batch: 25,
      data: { kind: 'bundled', n: 40, source: 'live on the bundled set (40 images)' },
    });
    expectSamePoints(record.points, want);
    expect(record.cli).toBe(
      `npx tokenscope sweep --model models/fmnist-vit --eval-set public/data/fmnist-test-1000.bin --limit 40 --batch 25 --methods ${METHOD_IDS.join(',')} --json`,
    );

    // The plot draws exactly the exported numbers, and each point links to the playground.
    const marks = await plotted();
    expect(marks).toHaveLength(want.length);
    for (const p of record.points as SweepRow[]) {
      const m = marks.find((x) => x.plan === p.plan)!;
      expect([Number(m.gflops), Number(m.accuracy), Number(m.agreement), Number(m.kl)]).toEqual([p.gflops, p.accuracy, p.agreement, p.kl]);
    }
    expect(marks.find((m) => m.plan === 'tome:r=4')!.href).toBe('index.html?v=1&plan=tome:r=4&backend=wasm');

    // CSV: one row per point, numbers identical to the plot's.
    const csv = (await downloadText('export-csv'))
      .trimEnd()
      .split('\r\n')
      .map((l) => l.split(','));
    const col = (name: string) => SWEEP_CSV_COLUMNS.indexOf(name as (typeof SWEEP_CSV_COLUMNS)[number]);
    expect(csv[0]).toEqual([...SWEEP_CSV_COLUMNS]);
    expect(csv).toHaveLength(want.length + 1);
    for (const row of csv.slice(1)) {
      const m = marks.find((x) => x.plan === row[col('plan')])!;
      expect(['gflops', 'accuracy', 'agreement', 'kl'].map((k) => Number(row[col(k)]))).toEqual(['gflops', 'accuracy', 'agreement', 'kl'].map((k) => Number(m[k])));
    }

    // Hover shows the plan and where its numbers come from; focus does too (keyboard).
    await page.locator('[data-testid="pareto-point"][data-plan="evit:keep=0.5"]').hover();
    await expect.poll(() => page.getByTestId('point-card').textContent()).toMatch(/evit:keep=0\.5.*live on the bundled set \(40 images\), wasm/s);
    await page.locator('[data-testid="pareto-point"][data-plan="none"]').focus();
    await expect.poll(() => page.getByTestId('point-card').textContent()).toMatch(/unreduced/);

    const svg = await downloadText('export-svg');
    expect(svg).toMatch(/^<\?xml/);
    expect(svg).toContain('Top-1 accuracy against GFLOPs per image');
    expect(svg).toContain('live on the bundled set (40 images)');
    const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-png').click()]);
    expect([...readFileSync((await png.path())!).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);

    // The artifact always; the README's copy only when asked, so test runs leave the tree clean.
    mkdirSync('test-results', { recursive: true });
    await page.mouse.move(0, 0);
    await page.screenshot({ path: 'test-results/compare.png', fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOTS) await page.screenshot({ path: 'docs/screenshots/compare.png', fullPage: true });
  }, 420_000);

  it('cancels a sweep over all 1,000 images midway: the page stays responsive and the worker holds no extra tensors', async () => {
    const tensors = await page.getByTestId('worker-tensors').textContent();
    expect(Number(tensors)).toBeGreaterThan(0);
    await page.getByTestId('images-select').selectOption('1000');
    await page.getByTestId('run-sweep').click();
    await page.waitForFunction(
      () => /on ([1-9]\d*) of 1,000 images .* left/.test(document.querySelector('[data-testid="progress-text"]')?.textContent ?? ''),
      null,
      { timeout: 60_000 },
    );
    // The page answers while the worker evaluates: a control changes the plot at once.
    const t0 = Date.now();
    await page.getByTestId('metric-select').selectOption('agreement');
    await expect.poll(() => page.getByTestId('pareto-svg').textContent(), { timeout: 3000 }).toMatch(/Top-1 agreement with the unreduced model against GFLOPs/);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await page.getByTestId('progress-text').textContent()).toMatch(/of 1,000 images/);
    await page.getByTestId('cancel-run').click();
    await expect.poll(() => page.getByTestId('run-message').textContent(), { timeout: 30_000 }).toMatch(/^Cancelled after \d+ of 1,000 images/);
    await expect.poll(() => page.getByTestId('worker-tensors').textContent()).toBe(tensors);
    // The plot still shows the finished 40-image sweep; running it again reads the cache.
    expect(await page.getByTestId('plot-provenance').getAttribute('data-n')).toBe('40');
    await page.getByTestId('metric-select').selectOption('accuracy');
    await page.getByTestId('images-select').selectOption('40');
    await page.getByTestId('run-sweep').click();
    await waitForResult('bundled', 40);
    // every sweep point of every method, and the unreduced model
    const cached = 1 + sweepPlans(METHOD_IDS, model.config).length;
    expect(await page.getByTestId('plot-provenance').textContent()).toMatch(new RegExp(`nothing evaluated, ${cached} from the cache`));
    expect(await page.getByTestId('worker-tensors').textContent()).toBe(tensors);
  }, 120_000);

  it('solves an equal budget of 60% as `tokenscope sweep --budget 60%` does, ATS measured on the same images', async () => {
    const want = await cli(['--limit', '40', '--budget', '60%']);
    await page.getByTestId('budget-input').fill('60%');
    await page.getByTestId('solve-budget').click();
    await page.waitForSelector('[data-testid="budget-table"]', { timeout: 120_000 });
    const rows = await page.locator('[data-testid="budget-table"] tbody tr[data-plan]').evaluateAll((els) => els.map((e) => ({ ...(e as HTMLElement).dataset })));
    expect(rows.map((r) => r.plan)).toEqual(want.map((r) => r.plan));
    expect(rows.map((r) => Number(r.gflops))).toEqual(want.map((r) => r.gflops));
    const target = 0.6 * want[0].gflops;
    for (const r of want.slice(1)) expect(r.gflops).toBeLessThanOrEqual(target);
    expect(await page.getByTestId('budget-summary').textContent()).toMatch(/live on the bundled set \(40 images\)/);
    expect(await page.getByTestId('budget-line').count()).toBe(1);
    await expect.poll(() => new URL(page.url()).searchParams.get('budget')).toBe('60%');
  }, 180_000);

  it('shows plans side by side on one image with one block slider, and the IoU of kept patches equals the engine’s', async () => {
    const plans = ['none', 'topk:keep=0.5', 'tome:r=4'];
    await page.getByTestId('side-plan-0').fill(plans[0]);
    await page.getByTestId('side-plan-1').fill(plans[1]);
    await page.getByRole('button', { name: 'Add a plan' }).click();
    await page.getByTestId('side-plan-2').fill(plans[2]);
    await page.getByTestId('sample-eval-305').click();
    await page.waitForFunction((p) => [0, 1, 2].every((i) => document.querySelector(`[data-testid="side-grid-${i}"]`)?.getAttribute('data-plan') === p[i]), plans, {
      timeout: 60_000,
    });
    await page.waitForFunction(() => document.querySelector('[data-testid="sample-eval-305"]')?.getAttribute('aria-pressed') === 'true');

    await page.getByTestId('layer-slider').fill('2');
    await expect.poll(() => page.getByTestId('side-layer-label').textContent()).toBe('after block 2 of 5');
    const labels = await page.locator('[data-testid="side-grids"] svg[aria-label]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    expect(labels.map((l) => l!.replace(/: \d+ tokens$/, ''))).toEqual(['Plan A after block 2', 'Plan B after block 2', 'Plan C after block 2']);
    await expect.poll(() => new URL(page.url()).searchParams.get('layer')).toBe('2'); // debounced

    // The engine in Node on the same eval image.
    const { config } = model;
    const set = parseEvalSet(new Uint8Array(readFileSync(SET)));
    const px = set.size * set.size;
    const pixels = normalizeU8(set.images.slice(305 * px, 306 * px), config.image_mean ?? [0.5], config.image_std ?? [0.5]);
    const x = tf.tensor4d(pixels, [1, config.image_size, config.image_size, 1]);
    const traces = [];
    try {
      for (const p of plans) {
        const out = await runForward(model, x, compilePlan(planFromText(p, config.num_hidden_layers), config), { record: 'fates' });
        out.logits.dispose();
        traces.push(out.traces[0]);
      }
    } finally {
      x.dispose();
    }
    const want = keptAgreement(traces, 1);
    const got = await page.locator('[data-testid="iou-table"] td[data-value]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.value)));
    expect(got).toEqual(want.iou.flat());
    expect(want.iou[2][0]).toBeLessThan(1); // the two reduced plans do not keep the same patches
  }, 120_000);

  it('scores a folder of class folders like the engine, refuses an unknown class, and gives fidelity only for loose images', async () => {
    const files: [string, string, number][] = [
      ['T-shirt_top', 'test-0019-t-shirt-top.png', 0],
      ['trouser', 'test-0002-trouser.png', 1],
      ['Ankle boot', 'test-0000-ankle-boot.png', 9],
      ['Ankle boot', 'test-0013-dress.png', 9], // a wrong label on purpose
    ];
    const root = join(work, 'my-set');
    for (const [folder, file] of files) {
      mkdirSync(join(root, folder), { recursive: true });
      copyFileSync(join('public/images/fmnist', file), join(root, folder, file));
    }
    await page.getByTestId('folder-input').setInputFiles(root);
    await expect
      .poll(() => page.getByTestId('user-set-summary').textContent(), { timeout: 30_000 })
      .toMatch(/4 images from “my-set”, labelled by folder \(Ankle boot, T-shirt_top, trouser\)/);
    await page.getByTestId('run-user-sweep').click();
    await waitForResult('images', 4);
    expect(await page.getByTestId('plot-provenance').textContent()).toMatch(/live on your images \(4 images, labelled by folder\)/);
    const marks = await plotted();

    // The same four images through the page's preprocessing and evaluatePlans in Node. Accuracy and
    // agreement are counts over the images, so the order the browser lists the files in does not
    // matter; the GFLOPs mean may differ in its last bit with the summation order.
    const { config } = model;
    const read = (f: string) => (existsSync(join(modelDir, f)) ? JSON.parse(readFileSync(join(modelDir, f), 'utf8')) : undefined);
    const spec = resolvePreprocess({ config, layout: 'hf-vit', configJson: read('config.json'), preprocessorJson: read('preprocessor_config.json') });
    const inputs = await Promise.all(
      files.map(async ([, file]) => {
        const png = await pngPixels(join('public/images/fmnist', file));
        return prepareInput(greyToRgba(Uint8Array.from(png.data), png.width), spec).pixels;
      }),
    );
    const all = new Float32Array(inputs.length * inputs[0].length);
    inputs.forEach((p, i) => all.set(p, i * p.length));
    const scores = await evaluatePlans(
      model,
      marks.map((m) => m.plan).filter((p) => p !== 'none'),
      [{ start: 0, count: files.length, pixels: all, labels: Uint16Array.from(files.map((f) => f[2])) }],
      { total: files.length },
    );
    expect(scores).toHaveLength(marks.length);
    for (const s of scores) {
      const m = marks.find((x) => x.plan === s.plan)!;
      expect([Number(m.accuracy), Number(m.agreement)], s.plan).toEqual([s.accuracy, s.agreement]);
      expect(Math.abs(Number(m.gflops) - s.gflops), s.plan).toBeLessThan(1e-15);
    }

    // An unknown class folder: refused, with the unknown names and every label.
    const bad = join(work, 'bad-set');
    mkdirSync(join(bad, 'Hat'), { recursive: true });
    mkdirSync(join(bad, 'Coat'), { recursive: true });
    copyFileSync('public/images/fmnist/test-0006-coat.png', join(bad, 'Coat', 'a.png'));
    copyFileSync('public/images/fmnist/test-0006-coat.png', join(bad, 'Hat', 'b.png'));
    await page.getByTestId('folder-input').setInputFiles(bad);
    await expect
      .poll(() => page.getByTestId('folder-error').textContent())
      .toMatch(/class folder "Hat" matches none of the model's labels.*T-shirt\/top \(folder "T-shirt_top"\).*Ankle boot/);

    // Loose images: fidelity only (agreement and KL), no accuracy.
    await page.getByTestId('files-input').setInputFiles(['public/images/fmnist/test-0006-coat.png', 'public/images/fmnist/test-0009-sneaker.png']);
    await expect.poll(() => page.getByTestId('user-set-summary').textContent()).toMatch(/2 images .*without labels \(fidelity only\)/);
    await page.getByTestId('run-user-sweep').click();
    await waitForResult('images', 2);
    expect(await page.getByTestId('plot-provenance').textContent()).toMatch(/live on your images \(2 images\)/);
    expect(await page.getByTestId('metric-select').inputValue()).toBe('agreement');
    expect((await plotted()).every((m) => m.accuracy === '')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'compare-your-images.png'), fullPage: true });
  }, 120_000);

  it('reaches every control by keyboard, and Enter on a point opens its plan in the playground', async () => {
    await page.getByTestId('images-select').focus();
    const reached = new Set<string>();
    for (let i = 0; i < 400 && reached.size < 100; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el?.dataset.testid ?? el?.id ?? el?.tagName ?? '';
      });
      if (id === 'BODY') break;
      reached.add(id);
    }
    for (const id of [
      'metric-select',
      'run-sweep',
      'pareto-point',
      'export-csv',
      'export-png',
      'budget-input',
      'solve-budget',
      'side-plan-0',
      'layer-slider',
      'folder-input',
      'files-input',
    ]) {
      expect([...reached], id).toContain(id);
    }
    // Labels: every form control on the page has an accessible name.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, button')]
        .filter((el) => {
          const e = el as HTMLInputElement;
          const byLabel = e.labels && e.labels.length > 0;
          return !byLabel && !e.getAttribute('aria-label') && !(e.textContent ?? '').trim() && e.type !== 'hidden';
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(unnamed).toEqual([]);
    await page.getByTestId('show-bundled').check();
    await waitForResult('bundled', 40);
    const point = page.locator('[data-testid="pareto-point"][data-plan="topk:keep=0.5"]');
    await point.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/index\.html\?v=1&plan=topk:keep=0\.5&backend=wasm$/);
    await page.waitForFunction(
      () => {
        const el = document.querySelector('[data-testid="run-status"]') as HTMLElement | null;
        return el?.dataset.state === 'done' && el.dataset.plan === 'topk:keep=0.5';
      },
      null,
      { timeout: 60_000 },
    );
  }, 120_000);

  it('builds a site whose compare page works from a sub-folder, restores a link with a budget, and reads the cache after a reload', async () => {
    const host = await hostInSubfolder(await builtSite('v1'));
    try {
      const site = await session.browser.newPage();
      const failures: string[] = [];
      site.on('response', (r) => r.status() >= 400 && failures.push(`${r.status()} ${r.url()}`));
      await site.goto(`${host.url}compare.html?methods=tome,topk&n=40&backend=wasm&budget=50%25`);
      await waitForResult('bundled', 40, 120_000, site);
      await site.waitForSelector('[data-testid="budget-table"]', { timeout: 60_000 });
      expect(failures).toEqual([]);
      const want = await cli(['--limit', '40', '--methods', 'tome,topk']);
      const marks = await site
        .locator('[data-testid="pareto-point"]')
        .evaluateAll((els) =>
          els.map((e) => ({ plan: e.getAttribute('data-plan'), gflops: Number(e.getAttribute('data-gflops')), accuracy: Number(e.getAttribute('data-accuracy')) })),
        );
      expect(marks.map((m) => m.plan).sort()).toEqual(want.map((w) => w.plan).sort());
      for (const w of want)
        expect(
          marks.find((m) => m.plan === w.plan),
          w.plan,
        ).toEqual({ plan: w.plan, gflops: w.gflops, accuracy: w.accuracy });
      const budget = await cli(['--limit', '40', '--methods', 'tome,topk', '--budget', '50%']);
      const chosen = await site.locator('[data-testid="budget-table"] tbody tr[data-plan]').evaluateAll((els) => els.map((e) => e.getAttribute('data-plan')));
      expect(chosen).toEqual(budget.map((r) => r.plan));
      await site.reload();
      await waitForResult('bundled', 40, 120_000, site);
      expect(await site.getByTestId('plot-provenance').textContent()).toMatch(/nothing evaluated, 9 from the cache/);
      await site.close();
    } finally {
      await host.close();
    }
  }, 150_000);
});
