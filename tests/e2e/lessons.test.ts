/**
 * The lessons in the real playground: every lesson walked to its end with the arrow keys on the
 * bundled model, each step's live numbers checked against the engine run here in Node on the
 * page's own model input; a step's link restoring the step; predict-then-reveal scored against
 * the engine's fates; the presenter layout; a broken lesson link.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridGeometry, layerViews } from '../../src/app/fates';
import { LESSONS } from '../../src/app/lessons/lessons';
import { predictTruth } from '../../src/app/lessons/PredictGrid';
import { fitPlan } from '../../src/app/state/plan-fit';
import { formatGflops } from '../../src/app/views/NumbersPanel';
import { normalizeU8 } from '../../src/io/preprocess';
import { planFlops, traceCounts } from '../../src/measure/plan-flops';
import { useBackend } from '../../src/model/backend';
import { loadModelDir } from '../../src/model/load-node';
import { runForward, type Model } from '../../src/model/run';
import { listWeights } from '../../src/model/weights';
import { compilePlan } from '../../src/reduce/compile';
import { planFromText } from '../../src/reduce/plan';
import { ARTIFACTS, startBrowserSession, type BrowserSession } from '../helpers/browser';

let session: BrowserSession;
let model: Model;

async function openPage(path: string, size = { width: 1400, height: 1000 }): Promise<Page> {
  const page = await session.browser.newPage({ acceptDownloads: true, viewport: size });
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`${session.baseUrl}${path}`);
  return page;
}

async function waitForRun(page: Page, plan: string, timeout = 60_000, input = '') {
  await page.waitForFunction(
    ([p, i]) => {
      const el = document.querySelector('[data-testid="run-status"]') as HTMLElement | null;
      return el?.dataset.state === 'done' && el.dataset.plan === p && (!i || el.dataset.input === i);
    },
    [plan, input] as const,
    { timeout },
  );
}

async function liveOnPage(page: Page): Promise<Record<string, string>> {
  return page.getByTestId('lesson-live').evaluateAll((els) => Object.fromEntries(els.map((e) => [(e as HTMLElement).dataset.name!, e.textContent!])));
}

/** The page's model input (JSON export) through the engine in Node: counts, FLOPs and fates. */
async function engineOnPage(page: Page, plan: string) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const record = JSON.parse(readFileSync((await download.path())!, 'utf8'));
  const { config } = model;
  const compiled = compilePlan(planFromText(plan, config.num_hidden_layers), config);
  const x = tf.tensor4d(normalizeU8(record.input.u8, config.image_mean!, config.image_std!), [1, config.image_size, config.image_size, config.num_channels]);
  try {
    const out = await runForward(model, x, compiled, { record: 'fates' });
    out.logits.dispose();
    const counts = traceCounts(out.traces[0]);
    const base = planFlops(config, compilePlan(planFromText('none', config.num_hidden_layers), config), Array(counts.length).fill(counts[0]));
    return { counts, trace: out.traces[0], gflops: formatGflops(planFlops(config, compiled, counts).total), baseGflops: formatGflops(base.total) };
  } finally {
    x.dispose();
  }
}

describe('lessons', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    model = loadModelDir('models/fmnist-vit');
    session = await startBrowserSession();
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    if (model) tf.dispose(listWeights(model.weights));
  });

  it('walks every lesson to its end by keyboard; every live number equals the engine’s, and a step’s link restores it', async () => {
    const depth = model.config.num_hidden_layers;
    const shape = { depth, channels: 1, tokens: 50 };
    for (const lesson of LESSONS) {
      const page = await openPage(`/?lesson=${lesson.id}&step=1&backend=wasm`);
      expect(await page.getByTestId('lesson-title').textContent({ timeout: 90_000 })).toBe(lesson.title);
      for (const [i, step] of lesson.steps.entries()) {
        const plan = fitPlan(step.plan(shape), depth).plan;
        const where = `${lesson.id} step ${i + 1}`;
        await expect.poll(() => page.getByTestId('lesson-step').textContent(), { timeout: 90_000 }).toBe(`${i + 1} / ${lesson.steps.length}`);
        await waitForRun(page, plan, 90_000, step.sample ? `sample:${step.sample.grey}` : '');
        await expect.poll(() => liveOnPage(page).then((v) => Object.values(v).includes('…')), { timeout: 20_000 }).toBe(false);
        const live = await liveOnPage(page);
        const layer = Math.min(step.layer(shape), depth - 1);
        const engine = await engineOnPage(page, plan);
        const want: Record<string, string> = {
          layer: String(layer),
          grid: '7',
          patches: '49',
          tokens: '50',
          depth: String(depth),
          'tokens-in': String(engine.counts[layer]),
          'tokens-out': String(engine.counts[layer + 1]),
          removed: String(engine.counts[layer] - engine.counts[layer + 1]),
          'tokens-final': String(engine.counts[depth]),
          gflops: engine.gflops,
          'gflops-base': engine.baseGflops,
        };
        for (const [name, value] of Object.entries(live)) if (name in want) expect(value, `${where}: ${name}`).toBe(want[name]);
        expect(live.gflops ?? engine.gflops, where).toBe(await page.getByTestId('gflops-total').textContent());
        if (i === lesson.steps.length - 1) {
          const again = await openPage(new URL(page.url()).pathname + new URL(page.url()).search);
          await waitForRun(again, plan, 90_000);
          expect(await again.getByTestId('lesson-step').textContent()).toBe(`${i + 1} / ${lesson.steps.length}`);
          // Measured latencies differ from run to run; every computed number must be the same.
          const computed = (v: Record<string, string>) => Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('latency')));
          await expect.poll(() => liveOnPage(again).then(computed), { timeout: 20_000 }).toEqual(computed(live));
          await again.close();
        } else {
          await page.locator('body').press('ArrowRight');
        }
      }
      await page.close();
    }
  }, 900_000);

  it('scores a prediction against the engine’s fates, and holds no answer before Reveal', async () => {
    const lesson = LESSONS.find((l) => l.id === 'pruning')!;
    const index = lesson.steps.findIndex((s) => s.predict);
    const page = await openPage(`/?lesson=pruning&step=${index + 1}&backend=wasm`);
    const depth = model.config.num_hidden_layers;
    const shape = { depth, channels: 1, tokens: 50 };
    const step = lesson.steps[index];
    const plan = fitPlan(step.plan(shape), depth).plan;
    await waitForRun(page, plan, 90_000);
    expect(await page.getByTestId('predict-pending').count()).toBe(1);
    expect(await page.getByTestId('token-grid').count()).toBe(0); // the fates are not in the page
    const engine = await engineOnPage(page, plan);
    const geo = gridGeometry(engine.trace, 7);
    const truth = predictTruth(layerViews(engine.trace, geo)[step.layer(shape)], geo, step.predict!.fate);
    // Mark every true patch and one wrong one.
    const wrong = truth.findIndex((t) => !t);
    for (const [p, t] of truth.entries()) if (t || p === wrong) await page.getByTestId(`predict-cell-${p}`).click();
    await page.getByTestId('predict-reveal').click();
    const score = page.getByTestId('predict-score');
    const right = truth.filter(Boolean).length;
    expect(await score.getAttribute('data-hits')).toBe(String(right));
    expect(await score.getAttribute('data-misses')).toBe('0');
    expect(await score.getAttribute('data-extra')).toBe('1');
    expect(await score.getAttribute('data-iou')).toBe((right / (right + 1)).toFixed(3));
    expect(await page.getByTestId('token-grid').count()).toBe(1);
    await page.close();
  }, 180_000);

  it('a first visit opens on a reducing plan with the tour one click away; the unreduced model is named as such, not given a speed-up', async () => {
    const page = await openPage('/');
    await waitForRun(page, 'tome:r=4', 90_000);
    expect(await page.getByTestId('token-count-out').textContent()).not.toBe('50');
    await page.getByTestId('start-tour').click();
    await expect.poll(() => page.getByTestId('lesson-step').textContent()).toBe(`1 / ${LESSONS[0].steps.length}`);
    expect(new URL(page.url()).searchParams.get('lesson')).toBe('tokens');
    await waitForRun(page, 'none');
    await expect.poll(() => page.getByTestId('same-as-unreduced').textContent(), { timeout: 60_000 }).toMatch(/it is the unreduced model, so there is no speed-up/);
    await page.close();
  }, 180_000);

  it('shows the presenter layout without controls at 1280×720, and the lesson index for an unknown lesson', async () => {
    const page = await openPage('/?lesson=merging&step=2&present=1&backend=wasm', { width: 1280, height: 720 });
    await page.getByTestId('lesson-panel').waitFor({ timeout: 90_000 });
    await waitForRun(page, fitPlan(LESSONS.find((l) => l.id === 'merging')!.steps[1].plan({ depth: 6, channels: 1, tokens: 50 }), 6).plan, 90_000);
    expect(await page.getByTestId('image-file').isVisible()).toBe(false);
    expect(await page.getByTestId('plan-text').isVisible()).toBe(false);
    expect(await page.getByTestId('token-grid').isVisible()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'lesson-presenter.png') });
    if (process.env.UPDATE_DOCS_SCREENSHOTS) await page.screenshot({ path: 'docs/screenshots/lesson-presenter.png' });
    await page.close();

    const broken = await openPage(`/?lesson=${encodeURIComponent('<script>x</script>')}&backend=wasm`);
    await expect.poll(() => broken.getByTestId('notices').textContent(), { timeout: 90_000 }).toMatch(/Ignored lesson .* not a lesson/);
    expect(await broken.getByTestId('lesson-index').isVisible()).toBe(true);
    expect(await broken.getByTestId('lesson-index').locator('a').count()).toBe(LESSONS.length);
    await broken.close();
  }, 180_000);
});
