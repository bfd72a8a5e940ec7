/**
 * The lessons in the real pages, on one page of one browser: every playground lesson walked to its
 * end with the arrow keys on the bundled model, each step's live numbers checked against the engine
 * run here in Node on the page's own model input, and each step's highlight against the engine's
 * token fates (which rows are cut, fused, merged, sampled; how many edges are taken); a step's link
 * opened fresh restoring the step; the compare page's Pareto lesson against the plot's own points;
 * predict-then-reveal scored against the engine; the presenter layout; a lesson inside a
 * cross-origin <iframe> of a course page; a broken lesson link.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridGeometry, layerViews } from '../../src/app/fates';
import { LESSONS } from '../../src/app/lessons/lessons';
import { COMPARE_LESSONS, PARETO_LESSON } from '../../src/app/lessons/pareto';
import { predictTruth } from '../../src/app/lessons/PredictGrid';
import type { LessonStep } from '../../src/app/lessons/types';
import { fitPlan } from '../../src/app/state/plan-fit';
import { formatGflops } from '../../src/app/views/NumbersPanel';
import { normalizeU8 } from '../../src/io/preprocess';
import { planFlops, traceCounts } from '../../src/measure/plan-flops';
import { useBackend } from '../../src/model/backend';
import { loadModelDir } from '../../src/model/load-node';
import { runForward, type LayerTrace, type Model, type Trace } from '../../src/model/run';
import { listWeights } from '../../src/model/weights';
import { compilePlan } from '../../src/reduce/compile';
import { planFromText } from '../../src/reduce/plan';
import { ARTIFACTS, startBrowserSession, type BrowserSession } from '../helpers/browser';
import { stepSnapshot, type StepSnapshot } from '../helpers/lesson-snapshot';

let session: BrowserSession;
let model: Model;
let page: Page;
const SHAPE = { depth: 6, channels: 1, tokens: 50 };
/** Lessons whose middle step is also opened fresh from its link (a reload costs a model load): two table steps, two predictions. */
const RESTORED = ['tokens', 'merging', 'ats', 'cost'];

async function go(path: string) {
  await page.goto(`${session.baseUrl}${path}`);
}

async function waitForRun(plan: string, input = '', timeout = 90_000) {
  await page.waitForFunction(
    ([p, i]) => {
      const el = document.querySelector('[data-testid="run-status"]') as HTMLElement | null;
      return el?.dataset.state === 'done' && el.dataset.plan === p && (!i || el.dataset.input === i);
    },
    [plan, input] as const,
    { timeout },
  );
}

async function liveOnPage(): Promise<Record<string, string>> {
  return page.getByTestId('lesson-live').evaluateAll((els) => Object.fromEntries(els.map((e) => [(e as HTMLElement).dataset.name!, e.textContent!])));
}

async function settledLive() {
  await expect.poll(() => liveOnPage().then((v) => Object.values(v).includes('…')), { timeout: 30_000 }).toBe(false);
  return liveOnPage();
}

interface EngineRun {
  counts: number[];
  trace: Trace;
  gflops: string;
  baseGflops: string;
  blockMflops: string[];
  baseBlockMflops: string[];
}
const engineRuns = new Map<string, EngineRun>();

/** The page's model input (JSON export) through the engine in Node, once per plan and input. */
async function engineOnPage(plan: string): Promise<EngineRun> {
  const input = await page.getByTestId('run-status').getAttribute('data-input');
  const key = `${plan}|${input}`;
  const cached = engineRuns.get(key);
  if (cached) return cached;
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const record = JSON.parse(readFileSync((await download.path())!, 'utf8'));
  const { config } = model;
  const compiled = compilePlan(planFromText(plan, config.num_hidden_layers), config);
  const x = tf.tensor4d(normalizeU8(record.input.u8, config.image_mean!, config.image_std!), [1, config.image_size, config.image_size, config.num_channels]);
  try {
    const out = await runForward(model, x, compiled, { record: 'evidence' });
    out.logits.dispose();
    const counts = traceCounts(out.traces[0]);
    const flops = planFlops(config, compiled, counts);
    const base = planFlops(config, compilePlan(planFromText('none', config.num_hidden_layers), config), Array(counts.length).fill(counts[0]));
    const mf = (f: number) => (f / 1e6).toFixed(3);
    const run = {
      counts,
      trace: out.traces[0],
      gflops: formatGflops(flops.total),
      baseGflops: formatGflops(base.total),
      blockMflops: flops.blocks.map((b) => mf(b.model)),
      baseBlockMflops: base.blocks.map((b) => mf(b.model)),
    };
    engineRuns.set(key, run);
    return run;
  } finally {
    x.dispose();
  }
}

/** Rows (CLS excluded) of a block by what the engine's assignment did to them. */
function fatesOf(layer: LayerTrace) {
  const target = layer.target ?? Array.from({ length: layer.nIn }, (_, i) => i);
  const shared = new Map<number, number>();
  for (const t of target) if (t >= 0) shared.set(t, (shared.get(t) ?? 0) + 1);
  const rows = (keep: (t: number) => boolean) => target.flatMap((t, row) => (row > 0 && keep(t) ? [row] : []));
  return {
    dropped: rows((t) => t < 0),
    fused: rows((t) => layer.fusedRow !== undefined && t === layer.fusedRow),
    shared: rows((t) => t >= 0 && shared.get(t)! > 1),
    alone: rows((t) => t >= 0 && shared.get(t) === 1),
  };
}

/** GTP: the graph links from the block's propagated tokens to its kept ones (non-zero weights the engine recorded). */
function gtpPropagations(l: LayerTrace): number {
  const wKp = (l.evidence?.fields.wKp ?? []) as number[][];
  return wKp.flat().filter((w) => w !== 0).length;
}

/** The evidence numbers a step quotes, from the engine's assignments alone: merges, protected tokens, set A's edges, the largest merged group. */
function evidenceCounts(trace: Trace, layer: number): Record<string, string> {
  const l = trace.layers[layer];
  const out: Record<string, string> = {};
  if (!l.target || !l.method) return out;
  const merges = l.nIn - l.nOut - fatesOf(l).dropped.length;
  if (['tome', 'pitome', 'atc'].includes(l.method)) out.r = String(merges);
  if (l.method === 'pitome') out.protected = String(l.nIn - 1 - 2 * merges);
  if (l.method === 'tome') out.edges = String(Math.ceil(l.nIn / 2) - 1);
  if (l.method === 'gtp') out.edges = String(gtpPropagations(l));
  // sizes entering the block: how many patches each token stands for, through every earlier assignment
  let size = new Array<number>(trace.tokens).fill(1);
  for (const earlier of trace.layers.slice(0, layer)) {
    if (!earlier.target) continue;
    const next = new Array<number>(earlier.nOut).fill(0);
    earlier.target.forEach((t, row) => t >= 0 && (next[t] += size[row]));
    size = next;
  }
  const into = new Map<number, number[]>();
  l.target.forEach((t, row) => t >= 0 && into.set(t, [...(into.get(t) ?? []), row]));
  const groups = [...into.values()].filter((rows) => rows.length > 1).map((rows) => rows.reduce((sum, row) => sum + size[row], 0));
  if (groups.length && ['tome', 'pitome', 'mctf'].includes(l.method)) {
    out['largest-group'] = String(Math.max(...groups));
    out['largest-group-log'] = Math.log(Math.max(...groups)).toFixed(3);
  }
  return out;
}

/** The step's highlight against the engine: the rows it must outline, or the edges it must count. */
function checkHighlight(step: LessonStep, layer: number, engine: EngineRun, shot: StepSnapshot, where: string) {
  const kind = step.highlight!;
  if (kind === 'flops-row') {
    expect(shot.flopsRows, where).toEqual([layer]);
    expect(shot.blockMflops[layer], where).toBe(engine.blockMflops[layer]);
    return;
  }
  const l = engine.trace.layers[layer];
  const f = fatesOf(l);
  expect(shot.highlight?.kind, where).toBe(kind);
  const { rows, edges } = shot;
  expect(edges, where).toBe(shot.highlight!.edges);
  const merges = l.nIn - l.nOut - f.dropped.length; // each merge removes one token
  const half = Math.ceil(l.nIn / 2) - 1; // set A without the class token
  switch (kind) {
    case 'cut':
      expect(rows, where).toEqual([...f.dropped, ...f.fused].sort((a, b) => a - b));
      break;
    case 'fused':
      expect(rows, where).toEqual(f.fused);
      break;
    case 'removed':
      expect(rows, where).toEqual([...f.dropped, ...f.shared].sort((a, b) => a - b));
      break;
    case 'groups':
      expect(rows, where).toEqual(f.shared);
      break;
    case 'kept':
    case 'sampled':
      expect(rows, where).toEqual(f.alone);
      break;
    case 'cdf':
      expect(rows, where).toEqual(f.alone);
      expect(shot.cdf, where).toBe(true);
      break;
    case 'duplicates':
      expect(
        rows.every((r) => f.alone.includes(r)),
        where,
      ).toBe(true);
      expect(rows.length, where).toBeLessThanOrEqual(Number(shot.live['ats-duplicates']));
      break;
    case 'protected':
      expect(rows.length, where).toBe(l.nIn - 1 - 2 * (l.nIn - l.nOut));
      expect(
        rows.some((r) => f.shared.includes(r)),
        where,
      ).toBe(false);
      break;
    case 'a-set':
      expect(rows, where).toEqual(Array.from({ length: half }, (_, i) => 2 * (i + 1)));
      break;
    case 'all-edges':
      // ATC: the whole tree over the patch tokens; GTP: every propagation along the graph
      expect(edges, where).toBe(l.method === 'atc' ? l.nIn - 2 : l.method === 'gtp' ? gtpPropagations(l) : half);
      break;
    case 'chosen-edges':
      expect(edges, where).toBe(merges);
      break;
    case 'b-to-a':
      expect(edges, where).toBeGreaterThan(0);
      expect(edges, where).toBeLessThanOrEqual(merges);
      break;
  }
}

describe('lessons', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    model = loadModelDir('models/fmnist-vit');
    session = await startBrowserSession();
    page = await session.browser.newPage({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    page.setDefaultNavigationTimeout(120_000); // the dev server's first transform of the page, on a busy machine
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    if (model) tf.dispose(listWeights(model.weights));
  });

  it('walks every lesson to its end by keyboard; live numbers and highlights equal the engine’s, and a step’s link restores it', async () => {
    const depth = model.config.num_hidden_layers;
    expect(depth).toBe(SHAPE.depth);
    await go(`/?lesson=${LESSONS[0].id}&step=1&backend=wasm`);
    for (const [li, lesson] of LESSONS.entries()) {
      if (li > 0) {
        const index = page.locator('details.lesson-index');
        if ((await index.getAttribute('open')) === null) await index.locator('summary').click();
        await page.getByTestId('lesson-index').getByRole('link', { name: lesson.title }).click();
      }
      expect(await page.getByTestId('lesson-title').textContent({ timeout: 90_000 })).toBe(lesson.title);
      for (const [i, step] of lesson.steps.entries()) {
        const plan = fitPlan(step.plan(SHAPE), depth).plan;
        const where = `${lesson.id} step ${i + 1}`;
        const layer = Math.min(step.layer(SHAPE), depth - 1);
        const shot = await stepSnapshot(page, { step: `${i + 1} / ${lesson.steps.length}`, plan, layer, input: step.sample ? `sample:${step.sample.grey}` : '' });
        const { live } = shot;
        const engine = await engineOnPage(plan);
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
          'block-mflops': engine.blockMflops[layer],
          'block-mflops-base': engine.baseBlockMflops[layer],
        };
        Object.assign(want, evidenceCounts(engine.trace, layer));
        for (const [name, value] of Object.entries(live)) if (name in want) expect(value, `${where}: ${name}`).toBe(want[name]);
        expect(shot.gflops, where).toBe(engine.gflops);
        if (step.highlight) checkHighlight(step, layer, engine, shot, where);
        if (RESTORED.includes(lesson.id) && i === Math.floor(lesson.steps.length / 2)) {
          // The step's own link, opened fresh: the same step and every computed number (latencies are measured anew).
          await page.waitForFunction((n) => new URLSearchParams(location.search).get('step') === String(n), i + 1); // the link follows the step
          await page.goto(page.url());
          const again = await stepSnapshot(page, { step: `${i + 1} / ${lesson.steps.length}`, plan, layer });
          const computed = (v: Record<string, string>) => Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('latency')));
          expect(computed(again.live), where).toEqual(computed(live));
        }
        if (i < lesson.steps.length - 1) await page.locator('body').press('ArrowRight');
      }
    }
  }, 900_000);

  it('walks the compare page’s Pareto lesson: each step outlines the points its rule picks from the plot, and quotes their numbers', async () => {
    await go(`/compare.html?lesson=${PARETO_LESSON.id}&step=1&methods=tome,evit,topk&n=40&backend=wasm`);
    await page.getByTestId('plot-provenance').waitFor({ timeout: 180_000 });
    type Point = { method: string; plan: string; gflops: number; accuracy: number; highlighted: boolean };
    const points: Point[] = await page.getByTestId('pareto-point').evaluateAll((els) =>
      els.map((e) => {
        const d = (e as HTMLElement).dataset;
        return { method: d.method!, plan: d.plan!, gflops: Number(d.gflops), accuracy: Number(d.accuracy), highlighted: d.highlighted === '1' };
      }),
    );
    const base = points.find((p) => p.method === 'none')!;
    const near = (method: string, g: number) =>
      points.filter((p) => p.method === method).reduce((a, b) => (Math.abs(b.gflops - g) < Math.abs(a.gflops - g) ? b : a));
    // The front, computed here from the plotted points: no other point cheaper-or-equal and better-or-equal, one strictly.
    const front = points.filter(
      (a) => !points.some((b) => b !== a && b.gflops <= a.gflops && b.accuracy >= a.accuracy && (b.gflops < a.gflops || b.accuracy > a.accuracy)),
    );
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    for (const [i, step] of PARETO_LESSON.steps.entries()) {
      const where = `pareto step ${i + 1}`;
      await expect.poll(() => page.getByTestId('lesson-step').textContent(), { timeout: 30_000 }).toBe(`${i + 1} / ${PARETO_LESSON.steps.length}`);
      const live = await settledLive();
      const picked: Record<string, Point> = {};
      for (const [key, rule] of Object.entries(step.points))
        picked[key] = rule.kind === 'unreduced' ? base : near(rule.method, rule.kind === 'nearest' ? rule.fraction * base.gflops : picked[rule.to].gflops);
      const expected = new Set([...Object.values(picked).map((p) => p.plan), ...(step.front ? front.map((p) => p.plan) : [])]);
      const outlined = await page
        .locator('[data-testid="pareto-point"][data-highlighted="1"]')
        .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.plan!));
      expect(new Set(outlined), where).toEqual(expected);
      for (const [key, p] of Object.entries(picked)) {
        if (`${key}-plan` in live) expect(live[`${key}-plan`], where).toBe(p.plan);
        if (`${key}-gflops` in live) expect(live[`${key}-gflops`], where).toBe(p.gflops.toPrecision(4));
        if (`${key}-accuracy` in live) expect(live[`${key}-accuracy`], where).toBe(pct(p.accuracy));
        if (`${key}-percent` in live) expect(live[`${key}-percent`], where).toBe(`${((100 * p.gflops) / base.gflops).toFixed(1)}%`);
      }
      if ('base-accuracy' in live) expect(live['base-accuracy'], where).toBe(pct(base.accuracy));
      if ('images' in live) expect(live.images, where).toBe('40');
      if ('front-count' in live) expect(live['front-count'], where).toBe(String(front.length));
      if (i < PARETO_LESSON.steps.length - 1) await page.locator('body').press('ArrowRight');
    }
    // The last step's link, opened fresh: the same step and points (the sweep comes back from the cache).
    const last = await liveOnPage();
    // the address bar follows the step after a short debounce (state/store.ts)
    await expect.poll(() => new URL(page.url()).searchParams.get('step')).toBe(String(PARETO_LESSON.steps.length));
    await page.goto(page.url());
    await page.getByTestId('plot-provenance').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('lesson-step').textContent()).toBe(`${PARETO_LESSON.steps.length} / ${PARETO_LESSON.steps.length}`);
    await expect.poll(() => liveOnPage(), { timeout: 30_000 }).toEqual(last);
  }, 300_000);

  it('scores a prediction against the engine’s fates, and holds no answer before Reveal', async () => {
    const lesson = LESSONS.find((l) => l.id === 'pruning')!;
    const index = lesson.steps.findIndex((s) => s.predict);
    await go(`/?lesson=pruning&step=${index + 1}&backend=wasm`);
    const step = lesson.steps[index];
    const plan = fitPlan(step.plan(SHAPE), SHAPE.depth).plan;
    await waitForRun(plan);
    expect(await page.getByTestId('predict-pending').count()).toBe(1);
    expect(await page.getByTestId('token-grid').count()).toBe(0); // the fates are not in the page
    const engine = await engineOnPage(plan);
    const geo = gridGeometry(engine.trace, 7);
    const truth = predictTruth(layerViews(engine.trace, geo)[step.layer(SHAPE)], geo, step.predict!.fate);
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
  }, 180_000);

  it('a first visit opens on a reducing plan with the tour one click away; the unreduced model is named as such, not given a speed-up', async () => {
    await go('/');
    await waitForRun('tome:r=4');
    expect(await page.getByTestId('token-count-out').textContent()).not.toBe('50');
    await page.getByTestId('start-tour').click();
    await expect.poll(() => page.getByTestId('lesson-step').textContent()).toBe(`1 / ${LESSONS[0].steps.length}`);
    await expect.poll(() => new URL(page.url()).searchParams.get('lesson')).toBe('tokens'); // written after a short debounce
    await waitForRun('none');
    await expect.poll(() => page.getByTestId('same-as-unreduced').textContent(), { timeout: 60_000 }).toMatch(/it is the unreduced model, so there is no speed-up/);
  }, 180_000);

  it('shows the presenter layout without controls at 1280×720, and the lesson index for an unknown lesson', async () => {
    await page.setViewportSize({ width: 1280, height: 720 });
    const merging = LESSONS.find((l) => l.id === 'merging')!;
    await go('/?lesson=merging&step=3&present=1&backend=wasm');
    await page.getByTestId('lesson-panel').waitFor({ timeout: 90_000 });
    const plan = fitPlan(merging.steps[2].plan(SHAPE), SHAPE.depth).plan;
    await waitForRun(plan);
    expect(await page.getByTestId('image-file').isVisible()).toBe(false);
    expect(await page.getByTestId('plan-text').isVisible()).toBe(false);
    // A step that outlines edges shows the why view's grid in place of the token view, within the 720 px.
    expect(await page.getByTestId('lesson-highlight').isVisible()).toBe(true);
    const grid = await page.locator('.decision-grid').boundingBox();
    expect(grid!.y + grid!.height).toBeLessThanOrEqual(720);
    expect(await page.locator('[data-testid="evidence-edge"][data-highlighted="1"]').count()).toBe(Number(/r=(\d+)/.exec(plan)![1])); // r merges: r edges taken
    await page.screenshot({ path: join(ARTIFACTS, 'lesson-presenter.png') });
    if (process.env.UPDATE_DOCS_SCREENSHOTS) await page.screenshot({ path: 'docs/screenshots/lesson-presenter.png' });
    await page.setViewportSize({ width: 1400, height: 1000 });

    await go(`/?lesson=${encodeURIComponent('<script>x</script>')}&backend=wasm`);
    await expect.poll(() => page.getByTestId('notices').textContent(), { timeout: 90_000 }).toMatch(/Ignored lesson .* not a lesson/);
    expect(await page.getByTestId('lesson-index').isVisible()).toBe(true);
    expect(await page.getByTestId('lesson-index').locator('a').count()).toBe(LESSONS.length + COMPARE_LESSONS.length);
  }, 180_000);

  it('runs inside a cross-origin <iframe> of a course page: ←/→ work with the frame focused, and it says it runs on one thread there', async () => {
    const lessonUrl = `${session.baseUrl}/?lesson=merging&step=1&present=1&backend=wasm`;
    const course = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Course</title></head><body><h1>Week 3: token merging</h1>
<iframe src="${lessonUrl}" width="1280" height="720" title="TokenScope lesson"></iframe></body></html>`;
    const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(course));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      // Another port is another origin, with no COOP/COEP: an ordinary course page.
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const frame = page.frameLocator('iframe');
      await expect
        .poll(() => frame.getByTestId('lesson-step').textContent(), { timeout: 90_000 })
        .toBe(`1 / ${LESSONS.find((l) => l.id === 'merging')!.steps.length}`);
      await expect.poll(() => frame.getByTestId('run-status').getAttribute('data-state'), { timeout: 90_000 }).toBe('done');
      expect(await frame.getByTestId('embed-note').textContent()).toMatch(/not cross-origin isolated: the model runs on one thread/);
      await frame.getByTestId('lesson-title').click(); // focus inside the frame
      await frame.locator('body').press('ArrowRight');
      await expect.poll(() => frame.getByTestId('lesson-step').textContent(), { timeout: 30_000 }).toMatch(/^2 \//);
      await expect.poll(() => frame.getByTestId('lesson-highlight').getAttribute('data-kind'), { timeout: 30_000 }).toBe('all-edges');
      await frame.locator('body').press('ArrowLeft');
      await expect.poll(() => frame.getByTestId('lesson-step').textContent(), { timeout: 30_000 }).toMatch(/^1 \//);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  }, 180_000);
});
