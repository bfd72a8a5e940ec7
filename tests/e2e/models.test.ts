/**
 * Real checkpoints in the real pages (not a harness): the model picker on the playground and the
 * compare page. A DeiT-Tiny-shaped timm checkpoint from files and a Hugging Face-named one from a
 * local server that answers the hub's URLs; a photo through each model's own preprocessing; every
 * method's top-1, token counts and logits against `tokenscope predict` on the same files; back to
 * the bundled model without tensor growth; a hub link reopened from the offline copy; bad files
 * refused while the previous model keeps running.
 *
 * Weights are seeded random (no network here): the numbers mean nothing as predictions, but the
 * page and the CLI must agree on them exactly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LESSONS } from '../../src/app/lessons/lessons';
import { splitSlots } from '../../src/app/lessons/live';
import { fitPlan } from '../../src/app/state/plan-fit';
import { predictCommand } from '../../src/cli/predict';
import { hubFileUrl } from '../../src/io/catalog';
import { encodePng } from '../../src/io/png';
import type { VitConfig } from '../../src/model/config';
import { formatPlan, METHOD_IDS, planFromText } from '../../src/reduce/plan';
import { writeSafetensors } from '../../src/io/safetensors';
import { ARTIFACTS, startBrowserSession, type BrowserSession } from '../helpers/browser';
import { stepSnapshot } from '../helpers/lesson-snapshot';
import { encodeCheckpoint, hfConfigJson, randomTimmArrays, renameTo } from '../helpers/checkpoints';
import { startServer, type TestServer } from '../helpers/http-server';
import { useWasmBackend } from '../helpers/tf';

useWasmBackend();

/** DeiT-Tiny's shape: 224 px in 16 px patches (14×14 + CLS = 197 tokens), 192 wide, 3 heads, 12 blocks, 1,000 classes. */
const DEIT_TINY: VitConfig = {
  hidden_size: 192,
  num_hidden_layers: 12,
  num_attention_heads: 3,
  intermediate_size: 768,
  image_size: 224,
  patch_size: 16,
  num_channels: 3,
  layer_norm_eps: 1e-6,
  distilled: false,
  id2label: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [String(i), `class ${i}`])),
};
const DEPTH = DEIT_TINY.num_hidden_layers;
const HUB_REPO = 'test/deit-tiny-hf';

let work: string;
let deitFile: string;
let hfDir: string;
let photo: string;
let session: BrowserSession;
let hub: TestServer;

/** A 320×240 RGB "photo": smooth gradients and a few blocks, so resizing and cropping matter. */
function writePhoto(path: string): void {
  const [w, h] = [320, 240];
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inBox = (x > 60 && x < 150 && y > 40 && y < 120) || (x - 230) ** 2 + (y - 150) ** 2 < 45 ** 2;
      rgb.set(inBox ? [230, 40 + (x % 50), 30] : [(x * 255) / w, (y * 255) / h, 128 + ((x * y) % 64)], (y * w + x) * 3);
    }
  }
  writeFileSync(
    path,
    encodePng(rgb, w, h, 3, (r) => deflateSync(r)),
  );
}

interface Predicted {
  top1: string;
  tokens: number[];
  logits: number[];
}

/** `tokenscope predict --json` (and any extra flags) on the photo, in this process: its parsed output. */
async function predictJson(model: string, plan: string, extra: string[] = []) {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  try {
    expect(await predictCommand.run(['--model', model, '--image', photo, '--plan', plan, '--json', ...extra])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(lines.join('\n'));
}

async function predict(model: string, plan: string): Promise<Predicted> {
  const out = await predictJson(model, plan);
  return { top1: out.top5[0].label, tokens: out.tokens, logits: out.logits };
}

async function waitForRun(page: Page, plan: string, opts: { input?: string; model?: string; timeout?: number } = {}) {
  await page.waitForFunction(
    ([p, i, m]) => {
      const el = document.querySelector('[data-testid="run-status"]') as HTMLElement | null;
      if (!el || el.dataset.state !== 'done' || el.dataset.plan !== p) return false;
      if (m && document.querySelector('[data-testid="model-name"]')?.textContent !== m) return false;
      return !i || (el.dataset.input?.startsWith(i) ?? false);
    },
    [plan, opts.input ?? '', opts.model ?? ''] as const,
    { timeout: opts.timeout ?? 60_000 },
  );
}

/** What the page shows for the current run: top-1, tokens per block and the logits of its JSON export. */
async function shownOnPage(page: Page): Promise<Predicted> {
  const tokens: number[] = [];
  for (let l = 0; l < DEPTH; l++) tokens.push(Number(await page.getByTestId(`token-count-layer-${l}`).textContent()));
  tokens.push(Number(await page.getByTestId('token-count-out').textContent()));
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const record = JSON.parse(readFileSync((await download.path())!, 'utf8'));
  return { top1: (await page.getByTestId('prediction-top1').textContent())!, tokens, logits: record.logits };
}

function expectSamePrediction(page: Predicted, cli: Predicted, what: string): void {
  expect(page.top1, what).toBe(cli.top1);
  expect(page.tokens, what).toEqual(cli.tokens);
  expect(page.logits, what).toHaveLength(cli.logits.length);
  const worst = Math.max(...page.logits.map((v, i) => Math.abs(v - cli.logits[i])));
  expect(worst, `${what}: largest logit difference`).toBeLessThan(1e-3);
}

type EvidenceJson = { layer: number; idle?: string; tokens: { row: number; score: number | null }[] }[];

/** The why view at a reducing block (the third, or the last if fewer): every token's score equals the CLI's evidence. */
async function expectWhyMatches(page: Page, plan: string, method: string, evidence: EvidenceJson): Promise<void> {
  const records = evidence.filter((r) => !r.idle);
  const record = records[Math.min(2, records.length - 1)];
  await page.getByRole('button', { name: new RegExp(`^Show block ${record.layer}\\b`) }).click();
  await page.waitForSelector(`[data-testid="decision-view"][data-layer="${record.layer}"] [data-testid="evidence-token"]`);
  const shown = await page.$$eval('[data-testid="decision-view"] [data-testid="evidence-token"]', (els) =>
    els.map((el) => ({ row: Number(el.getAttribute('data-row')), score: el.hasAttribute('data-score') ? Number(el.getAttribute('data-score')) : null })),
  );
  const byRow = new Map(record.tokens.map((t) => [t.row, t.score]));
  expect(shown.length, plan).toBe(record.tokens.length);
  for (const t of shown) {
    const cli = byRow.get(t.row);
    if (cli === null || cli === undefined) expect(t.score, `${plan} row ${t.row}`).toBeNull();
    // GTP (scores above 1: a column sum over 197 queries times a diagonal): at block 2 the page and
    // the CLI were measured 1.2e-5 apart (relative) after two propagations; the cause is not traced
    // yet, so GTP gets 1e-4 relative here, the others 1e-5
    else
      expect(Math.abs(t.score! - cli), `${plan} row ${t.row}: page ${t.score}, CLI ${cli}`).toBeLessThanOrEqual(
        (method === 'gtp' ? 1e-4 : 1e-5) * Math.max(1, Math.abs(cli)),
      );
  }
}

async function openPage(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1400, height: 1000 });
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  page.setDefaultNavigationTimeout(120_000); // the dev server's first transform of the page, on a busy machine
  await page.goto(`${session.baseUrl}${path}`);
  return page;
}

async function newContext(): Promise<BrowserContext> {
  const context = await session.browser.newContext({ acceptDownloads: true });
  await context.addInitScript((base) => {
    (globalThis as { TOKENSCOPE_HUB_BASE?: string }).TOKENSCOPE_HUB_BASE = base;
  }, hub.base);
  return context;
}

const openPicker = async (page: Page) => {
  const picker = page.getByTestId('model-picker');
  if ((await picker.getAttribute('open')) === null) await picker.locator('summary').click();
};

/** The playground on the bundled model, then the DeiT-Tiny-shaped checkpoint loaded through the picker's file input. */
async function openWithDeitFile(context: BrowserContext): Promise<Page> {
  const page = await openPage(context, '/?backend=wasm');
  await waitForRun(page, 'none', { timeout: 90_000 });
  await openPicker(page);
  await page.getByTestId('model-files').setInputFiles(deitFile);
  await waitForRun(page, 'none', { model: 'deit.safetensors', timeout: 90_000 });
  return page;
}

describe('real checkpoints in the pages', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tokenscope-models-'));
    const timm = randomTimmArrays(DEIT_TINY, 11);
    deitFile = join(work, 'deit.safetensors');
    writeFileSync(deitFile, encodeCheckpoint(timm, 'F32'));
    hfDir = join(work, 'hf');
    mkdirSync(hfDir);
    const hfWeights = encodeCheckpoint(renameTo(timm, 'hf-vit'), 'F16');
    const hfConfig = JSON.stringify(hfConfigJson(DEIT_TINY, 'hf-vit'));
    const processor = JSON.stringify({
      do_resize: true,
      size: { height: 224, width: 224 },
      resample: 2,
      do_normalize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
    });
    writeFileSync(join(hfDir, 'model.safetensors'), hfWeights);
    writeFileSync(join(hfDir, 'config.json'), hfConfig);
    writeFileSync(join(hfDir, 'preprocessor_config.json'), processor);
    photo = join(work, 'photo.png');
    writePhoto(photo);
    hub = await startServer({}, { cors: true });
    const path = (file: string) => new URL(hubFileUrl(HUB_REPO, 'main', file, 'http://x')).pathname;
    hub.routes.set(path('config.json'), { body: new TextEncoder().encode(hfConfig) });
    hub.routes.set(path('preprocessor_config.json'), { body: new TextEncoder().encode(processor) });
    hub.routes.set(path('model.safetensors'), { body: hfWeights, chunk: 1 << 20, etag: '"deit-hf"' });
    session = await startBrowserSession();
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    await hub?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('loads a DeiT-Tiny-shaped timm checkpoint from files, runs every method on a photo exactly as `tokenscope predict` (the why view’s scores as its `--evidence`), and switches back without tensor growth', async () => {
    const context = await newContext();
    const page = await openPage(context, '/?backend=wasm');
    await waitForRun(page, 'none', { timeout: 90_000 });
    expect(await page.getByTestId('model-origin').textContent()).toBe('(bundled with TokenScope)');
    const bundledTensors = await page.getByTestId('tensor-count').textContent();

    await openPicker(page);
    await page.getByTestId('model-files').setInputFiles(deitFile);
    await waitForRun(page, 'none', { model: 'deit.safetensors', timeout: 90_000 });
    expect(await page.getByTestId('model-origin').textContent()).toBe('(your files (deit.safetensors))');
    const line = await page.locator('.model-slot > p').first().textContent();
    expect(line).toMatch(/12 blocks, width 192, 3 heads, 224×224×3 input in 16×16 patches \(196 patch tokens\), 1000 classes, 5\.\d\d M parameters/);
    // An RGB model starts on a photo; the grid is 14×14.
    await expect.poll(() => page.getByTestId('sample-chelsea').getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator('.gallery-item').first().getAttribute('data-testid')).toBe('sample-chelsea');
    expect(new URL(page.url()).searchParams.get('model')).toBeNull(); // files cannot be linked
    await page.getByTestId('copy-link').click();
    await expect.poll(() => page.getByTestId('copy-link-note').textContent()).toMatch(/cannot be linked/);

    await page.getByTestId('image-file').setInputFiles(photo);
    await waitForRun(page, 'none', { input: 'upload:' });
    const steps = await page.getByTestId('preprocess-steps').textContent();
    expect(steps).toMatch(/resize 320×240 → 341×256 \(bicubic\)/); // timm defaults: shorter side to ⌊224 / 0.875⌋ = 256, ⌊256 · 4/3⌋ = 341
    expect(steps).toMatch(/centre crop 224×224 at \(58, 16\)/); // (341 − 224) / 2 = 58.5, rounded half to even as torchvision does
    expect(await page.getByTestId('gflops-total').textContent()).toBe('1.258'); // DeiT-Tiny, fvcore (published)
    expectSamePrediction(await shownOnPage(page), await predict(deitFile, 'none'), 'none');
    expect((await shownOnPage(page)).tokens[0]).toBe(197);

    for (const method of METHOD_IDS) {
      const plan = formatPlan(planFromText(method, DEPTH));
      const cli = await predictJson(deitFile, plan, ['--evidence']);
      await page.getByTestId('plan-text').fill(plan);
      await waitForRun(page, plan, { input: 'upload:' });
      expectSamePrediction(await shownOnPage(page), { top1: cli.top5[0].label, tokens: cli.tokens, logits: cli.logits }, plan);
      // ATC's why view is left out here: its merge tree turns last-bit differences between the
      // page's threaded wasm and Node's single-threaded wasm into a different merge order on 197
      // random tokens, so its per-token heights cannot match to 1e-5 on this model. It is checked
      // against the CLI on the bundled model (tests/e2e/why.test.ts), where both sides agree.
      if (method !== 'atc') await expectWhyMatches(page, plan, method, cli.evidence);
    }
    // The README's picture: ToMe on a bundled photo, a 14×14 grid, block 6 selected.
    await page.getByTestId('sample-chelsea').click();
    await page.getByTestId('plan-text').fill('tome');
    await waitForRun(page, 'tome', { input: 'sample:chelsea' });
    await page.getByRole('button', { name: /^Show block 6\b/ }).click();
    await page.screenshot({ path: join(ARTIFACTS, 'playground-deit-files.png'), fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOTS) {
      await page.setViewportSize({ width: 1400, height: 1150 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: 'docs/screenshots/playground-deit-tome.png' });
      await page.setViewportSize({ width: 1400, height: 1000 });
    }

    // Back to the bundled model and again: the old weights go every time.
    await page.getByTestId('plan-text').fill('none');
    await waitForRun(page, 'none', { input: 'sample:chelsea' });
    for (let round = 0; round < 2; round++) {
      await openPicker(page);
      await page.getByTestId('model-bundled').click();
      await waitForRun(page, 'none', { model: 'fmnist-vit (bundled)', input: 'sample:chelsea' });
      if (round === 0) {
        await openPicker(page);
        await page.getByTestId('model-files').setInputFiles(deitFile);
        await waitForRun(page, 'none', { model: 'deit.safetensors', input: 'sample:chelsea' });
      }
    }
    expect(await page.getByTestId('tensor-count').textContent()).toBe(bundledTensors);
    await context.close();
  }, 400_000);

  it('walks every lesson by keyboard on the DeiT-Tiny-shaped checkpoint: block numbers follow its 12 blocks, every kind of live number matches the page’s engine run, every kind of highlight is there', async () => {
    const context = await newContext();
    const page = await openWithDeitFile(context);
    const shape = { depth: DEPTH, channels: 3, tokens: 197 };
    // tests/e2e/lessons.test.ts checks every step on the bundled model. Here each lesson's first step
    // is checked, and any later one that quotes a number or outlines something no checked step on
    // this model has yet; the steps between are only passed through, and a lesson is left after its
    // last checked step (each step shown runs the model).
    const seen = new Set<string>();
    const checked = LESSONS.map((lesson) =>
      lesson.steps.map((step, i) => {
        const kinds = [...splitSlots(step.text).flatMap((p) => ('slot' in p ? [`slot ${p.slot}`] : [])), `highlight ${step.highlight ?? 'none'}`];
        const fresh = kinds.some((k) => !seen.has(k));
        for (const k of kinds) seen.add(k);
        return fresh || i === 0;
      }),
    );
    for (const [li, lesson] of LESSONS.entries()) {
      const index = page.locator('details.lesson-index');
      if ((await index.getAttribute('open')) === null) await index.locator('summary').click();
      await page.getByTestId('lesson-index').getByRole('link', { name: lesson.title }).click();
      const lastChecked = checked[li].lastIndexOf(true);
      for (const [i, step] of lesson.steps.slice(0, lastChecked + 1).entries()) {
        const where = `${lesson.id} step ${i + 1}`;
        if (!checked[li][i]) {
          await expect.poll(() => page.getByTestId('lesson-step').textContent()).toBe(`${i + 1} / ${lesson.steps.length}`);
          await page.locator('body').press('ArrowRight');
          continue;
        }
        const plan = fitPlan(step.plan(shape), DEPTH).plan;
        const layer = Math.min(step.layer(shape), DEPTH - 1);
        const input = step.sample ? `sample:${step.sample.rgb}` : '';
        // The measured latencies are not waited for: on a 197-token model they take many timed runs.
        const shot = await stepSnapshot(page, { step: `${i + 1} / ${lesson.steps.length}`, plan, layer, input, waitFor: 'computed' });
        const { live } = shot;
        if ('tokens-in' in live) expect(live['tokens-in'], where).toBe(shot.counts[layer]);
        if ('tokens-out' in live) expect(live['tokens-out'], where).toBe(shot.counts[layer + 1]);
        if ('tokens-final' in live) expect(live['tokens-final'], where).toBe(shot.counts[DEPTH]);
        if ('block-mflops' in live) expect(live['block-mflops'], where).toBe(shot.blockMflops[layer]);
        if ('gflops' in live) expect(live.gflops, where).toBe(shot.gflops);
        if ('gflops-base' in live) expect(live['gflops-base'], where).toBe('1.258');
        if ('grid' in live) expect(live.grid, where).toBe('14');
        if ('layer' in live) expect(live.layer, where).toBe(String(layer));
        // The step's highlight exists on this model too: its table row, or its outline on the why view's grid.
        if (step.highlight === 'flops-row') expect(shot.flopsRows, where).toEqual([layer]);
        else if (step.highlight) expect(shot.highlight?.kind, where).toBe(step.highlight);
        if (i < lastChecked) await page.locator('body').press('ArrowRight');
      }
    }
    await context.close();
  }, 900_000);

  it('downloads an HF-named model from a hub-like server, puts it in the link, reopens the link offline, and asks before downloading an uncached one', async () => {
    const context = await newContext();
    const page = await openPage(context, '/?backend=wasm');
    await waitForRun(page, 'none', { timeout: 90_000 });
    await openPicker(page);
    await page.getByTestId('hub-id').fill(HUB_REPO);
    await page.getByTestId('hub-id').press('Enter');
    await waitForRun(page, 'none', { model: HUB_REPO, timeout: 120_000 });
    expect(await page.getByTestId('model-origin').textContent()).toBe(`(Hugging Face hub, ${HUB_REPO})`);
    await expect.poll(() => new URL(page.url()).searchParams.get('model')).toBe(HUB_REPO);
    const plan = 'tome:r=9';
    await page.getByTestId('plan-text').fill(plan);
    await page.getByTestId('image-file').setInputFiles(photo);
    await waitForRun(page, plan, { input: 'upload:' });
    expect(await page.getByTestId('preprocess-steps').textContent()).toMatch(/resize 320×240 → 224×224 \(bilinear\)/);
    expectSamePrediction(await shownOnPage(page), await predict(hfDir, plan), `hub ${plan}`);
    const link = page.url();
    expect(link).toContain(`model=${HUB_REPO}`);
    await page.close();

    // The hub is unreachable now: the link opens the model from Cache Storage, with its plan and block.
    const hubRequests = hub.requests.length;
    await context.route(`${hub.base}/**`, (route) => route.abort('internetdisconnected'));
    const offline = await openPage(context, `/?v=1&model=${HUB_REPO}&plan=${encodeURIComponent('evit:keep=0.5,layers=3/6/9')}&layer=9&sample=coffee&backend=wasm`);
    await waitForRun(offline, 'evit:keep=0.5', { model: HUB_REPO, input: 'sample:coffee', timeout: 120_000 });
    expect(await offline.getByTestId('model-origin').textContent()).toBe(`(Hugging Face hub, ${HUB_REPO} (offline copy in this browser))`);
    expect(await offline.locator('.step-label').textContent()).toMatch(/^After block 9 of 11/);
    expect(hub.requests.length).toBe(hubRequests);

    // A hub model that was never downloaded: nothing is fetched until the user says so.
    await offline.goto(`${session.baseUrl}/?model=test/not-cached&plan=tome:r=9&backend=wasm`);
    await expect
      .poll(() => offline.getByTestId('link-prompt').textContent(), { timeout: 90_000 })
      .toMatch(/This link opens test\/not-cached .*not in this browser yet/);
    await waitForRun(offline, 'none', { model: 'fmnist-vit (bundled)' });
    expect(new URL(offline.url()).searchParams.get('model')).toBe('test/not-cached');
    await offline.getByTestId('link-stay').click();
    await expect.poll(() => new URL(offline.url()).searchParams.get('model')).toBeNull();
    await expect.poll(() => offline.getByTestId('link-prompt').count()).toBe(0);
    await context.close();
  }, 300_000);

  it('refuses a file that is not a ViT and a config that contradicts the weights, and keeps the previous model running', async () => {
    const context = await newContext();
    const page = await openPage(context, '/?backend=wasm&plan=tome');
    await waitForRun(page, 'tome', { timeout: 90_000 });
    const notVit = join(work, 'resnet.safetensors');
    writeFileSync(notVit, writeSafetensors({ 'conv1.weight': { dtype: 'F32', shape: [4, 3, 3, 3], data: new Float32Array(108) } }));
    await openPicker(page);
    await page.getByTestId('model-files').setInputFiles(notVit);
    await expect.poll(() => page.getByTestId('model-picker-message').textContent()).toMatch(/The previous model is still in use\.$/);
    const contradicting = join(work, 'contradicting');
    mkdirSync(contradicting);
    writeFileSync(join(contradicting, 'model.safetensors'), readFileSync(join(hfDir, 'model.safetensors')));
    writeFileSync(join(contradicting, 'config.json'), JSON.stringify({ ...hfConfigJson(DEIT_TINY, 'hf-vit'), hidden_size: 256 }));
    await page.getByTestId('model-files').setInputFiles([join(contradicting, 'model.safetensors'), join(contradicting, 'config.json')]);
    await expect
      .poll(() => page.getByTestId('model-picker-message').textContent())
      .toMatch(/^This checkpoint does not fit a ViT\/DeiT: .*The previous model is still in use\.$/);
    expect(await page.getByTestId('model-name').textContent()).toBe('fmnist-vit (bundled)');
    await page.getByTestId('plan-text').fill('tome:r=3');
    await waitForRun(page, 'tome:r=3');
    await context.close();
  }, 180_000);

  it('compares methods on a checkpoint with the user’s images on the compare page (the Fashion-MNIST set is the bundled model’s only)', async () => {
    const context = await newContext();
    const page = await openPage(context, '/compare.html?backend=wasm&methods=tome,topk&n=40');
    await page.waitForFunction(() => document.querySelector('[data-testid="plot-provenance"]')?.getAttribute('data-kind') === 'bundled', null, { timeout: 120_000 });
    await openPicker(page);
    await page.getByTestId('model-files').setInputFiles(deitFile);
    await expect.poll(() => page.getByTestId('model-name').textContent(), { timeout: 90_000 }).toBe('deit.safetensors');
    await expect.poll(() => page.getByTestId('bundled-set-unavailable').count()).toBe(1);
    expect(await page.getByTestId('plot-provenance').count()).toBe(0); // the Fashion-MNIST sweep went with its model
    const second = join(work, 'photo2.png');
    writeFileSync(
      second,
      encodePng(
        Uint8Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 31) % 256),
        64,
        48,
        3,
        (r) => deflateSync(r),
      ),
    );
    await page.getByTestId('files-input').setInputFiles([photo, second]);
    await expect.poll(() => page.getByTestId('user-set-summary').textContent(), { timeout: 30_000 }).toMatch(/2 images/);
    await page.getByTestId('run-user-sweep').click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="plot-provenance"]')?.getAttribute('data-kind') === 'images' &&
        document.querySelector('[data-testid="progress-text"]')?.textContent === 'Idle.',
      null,
      { timeout: 240_000 },
    );
    expect(await page.getByTestId('plot-provenance').textContent()).toMatch(/live on your images \(2 images.*deit\.safetensors/);
    // The unreduced row: DeiT-Tiny's published 1.258 GFLOPs, and agreement with itself.
    const first = page.locator('[data-testid="sweep-table"] tbody tr').first();
    expect(await first.textContent()).toMatch(/none.*1\.258/);
    await context.close();
  }, 400_000);
});
