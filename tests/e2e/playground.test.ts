/**
 * The playground in headless Chromium (tests/helpers/browser.ts: Vite dev server in this process).
 * Token counts, GFLOPs and the top-1 label shown by the page are checked against the same engine
 * run here in Node (wasm) on the same preprocessed pixels — read back from the page's own JSON
 * export, or from the bundled eval set. Most checks run on wasm; one on WebGPU (software adapter).
 *
 * Screenshots go to test-results/; with UPDATE_DOCS_SCREENSHOTS=1 one also goes to
 * docs/screenshots/playground.png for the README.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvalSet } from '../../src/io/eval-set';
import { planFlops, traceCounts } from '../../src/measure/plan-flops';
import { useBackend } from '../../src/model/backend';
import { parseConfig } from '../../src/model/config';
import { loadModelDir } from '../../src/model/load-node';
import { runForward, type Model } from '../../src/model/run';
import { listWeights, randomWeights } from '../../src/model/weights';
import { compilePlan } from '../../src/reduce/compile';
import { formatPlan, METHOD_IDS, planFromText } from '../../src/reduce/plan';
import { normalizeU8 } from '../../src/io/preprocess';
import { FALLBACK_CONFIG_JSON, FALLBACK_SEED } from '../../src/app/model/fallback';
import { ARTIFACTS, startBrowserSession, type BrowserSession } from '../helpers/browser';
import { builtSite, hostInSubfolder } from '../helpers/built-site';

const MODEL_DIR = 'models/fmnist-vit';
const SCREENSHOTS = 'docs/screenshots';

let session: BrowserSession;
let model: Model;
let depth: number;

interface Expected {
  counts: number[];
  gflops: string;
  top1: string;
}

/** The engine in Node on the page's 8-bit model input. */
async function expected(u8: ArrayLike<number>, plan: string): Promise<Expected> {
  const { config } = model;
  const pixels = normalizeU8(u8, config.image_mean ?? [0.5], config.image_std ?? [0.5]);
  const compiled = compilePlan(planFromText(plan, depth), config);
  const x = tf.tensor4d(pixels, [1, config.image_size, config.image_size, config.num_channels]);
  try {
    const { logits, traces } = await runForward(model, x, compiled);
    const values = Array.from(await logits.data());
    logits.dispose();
    const counts = traceCounts(traces[0]);
    const top = values.indexOf(Math.max(...values));
    return { counts, gflops: (planFlops(config, compiled, counts).total / 1e9).toPrecision(4), top1: config.id2label[String(top)] };
  } finally {
    x.dispose();
  }
}

/** Waits until the page shows a finished run of `plan` (canonical text), optionally on an input and backend. */
async function waitForRun(page: Page, plan: string, opts: { input?: string; backend?: string; timeout?: number } = {}) {
  await page.waitForFunction(
    ([p, i, b]) => {
      const el = document.querySelector('[data-testid="run-status"]') as HTMLElement | null;
      if (!el || el.dataset.state !== 'done' || el.dataset.plan !== p) return false;
      if (i && !el.dataset.input?.startsWith(i)) return false;
      return !b || el.dataset.backend === b;
    },
    [plan, opts.input ?? '', opts.backend ?? ''] as const,
    { timeout: opts.timeout ?? 30_000 },
  );
}

async function shown(page: Page): Promise<Expected> {
  const counts: number[] = [];
  for (let l = 0; l < depth; l++) counts.push(Number(await page.getByTestId(`token-count-layer-${l}`).textContent()));
  counts.push(Number(await page.getByTestId('token-count-out').textContent()));
  return { counts, gflops: (await page.getByTestId('gflops-total').textContent())!, top1: (await page.getByTestId('prediction-top1').textContent())! };
}

/** The model input as the page exported it (JSON download). */
async function exportedInput(page: Page): Promise<{ u8: number[]; plan: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const record = JSON.parse(readFileSync((await download.path())!, 'utf8'));
  expect(record.format).toBe('tokenscope-fates');
  return { u8: record.input.u8, plan: record.plan };
}

async function openPage(path: string): Promise<Page> {
  const page = await session.newPage(path);
  await page.setViewportSize({ width: 1400, height: 1000 });
  page.on('dialog', (d) => {
    throw new Error(`unexpected dialog: ${d.message()}`);
  });
  return page;
}

describe('the playground', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    // The page uses the bundled model when it exists, else the seeded stand-in: so does this test.
    if (existsSync(join(MODEL_DIR, 'config.json')) && existsSync(join(MODEL_DIR, 'model.safetensors'))) {
      model = loadModelDir(MODEL_DIR);
    } else {
      const config = parseConfig(FALLBACK_CONFIG_JSON);
      model = { config, weights: randomWeights(config, FALLBACK_SEED) };
    }
    depth = model.config.num_hidden_layers;
    session = await startBrowserSession();
    if (process.env.UPDATE_DOCS_SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    if (model) tf.dispose(listWeights(model.weights));
  });

  it('shows the engine’s token counts, GFLOPs and top-1 for an uploaded image under every method', async () => {
    const page = await openPage('/?backend=wasm');
    await waitForRun(page, 'none', { timeout: 90_000 });
    await page.getByTestId('image-file').setInputFiles('public/images/chelsea.jpg');
    await waitForRun(page, 'none', { input: 'upload:' });
    await expect.poll(() => page.getByTestId('preprocess-steps').textContent()).toMatch(/greyscale/);
    const { u8 } = await exportedInput(page);
    expect(u8).toHaveLength(model.config.image_size ** 2 * model.config.num_channels);
    expect(await shown(page)).toEqual(await expected(u8, 'none'));

    for (const [i, method] of METHOD_IDS.entries()) {
      if (i > 0) await page.getByTestId(`method-toggle-${METHOD_IDS[i - 1]}`).uncheck();
      await page.getByTestId(`method-toggle-${method}`).check();
      const plan = formatPlan(planFromText(method, depth));
      await waitForRun(page, plan, { input: 'upload:' });
      expect(await page.getByTestId('plan-text').inputValue()).toBe(plan);
      expect(await shown(page), plan).toEqual(await expected(u8, plan));
    }
    await page.getByTestId(`method-toggle-${METHOD_IDS[METHOD_IDS.length - 1]}`).uncheck();
    await waitForRun(page, 'none', { input: 'upload:' });
    const tensors = await page.getByTestId('tensor-count').textContent();

    // A parameter from the generated controls, then a mixed plan typed as text.
    await page.getByTestId('method-toggle-tome').check();
    await page.getByTestId('param-tome-r').fill('3');
    await waitForRun(page, 'tome:r=3', { input: 'upload:' });
    expect(await shown(page)).toEqual(await expected(u8, 'tome:r=3'));
    const mixed = 'evit:keep=0.5,layers=1+tome:r=3,layers=2-5';
    await page.getByTestId('plan-text').fill(mixed);
    await waitForRun(page, mixed, { input: 'upload:' });
    const expectedMixed = await expected(u8, mixed);
    expect(await shown(page)).toEqual(expectedMixed);
    // The worker frees every run's tensors: the count is back where it was.
    await page.getByTestId('plan-text').fill('none');
    await waitForRun(page, 'none', { input: 'upload:' });
    expect(await page.getByTestId('tensor-count').textContent()).toBe(tensors);
    await page.getByTestId('plan-text').fill(mixed);
    await waitForRun(page, mixed, { input: 'upload:' });
    // An invalid plan shows the parser's message and keeps the last good run.
    await page.getByTestId('plan-text').fill('tome:r=oops');
    await expect.poll(() => page.getByTestId('plan-error').textContent()).toMatch(/r must be an integer/);
    expect(await page.getByTestId('run-status').getAttribute('data-plan')).toBe(mixed);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-upload-mixed.png'), fullPage: true });
    // The other two exports: CSV rows per block, and a PNG.
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const rows = readFileSync((await csv.path())!, 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(rows.map((r) => r.split(',')[0])).toEqual(['part', 'embed', ...Array.from({ length: depth }, (_, l) => String(l)), 'head', 'total']);
    expect(rows[3].split(',').slice(1, 4)).toEqual(['evit', String(expectedMixed.counts[1]), String(expectedMixed.counts[2])]); // block 1
    const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-png').click()]);
    expect([...readFileSync((await png.path())!).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    await page.close();
  }, 180_000); // a run per method (eleven) and the unreduced model

  it('restores plan, sample, layer and backend from the link and writes them back', async () => {
    const plan = 'tome:r=5,layers=1-4';
    const page = await openPage(`/?plan=${encodeURIComponent(plan)}&sample=eval-305&layer=2&backend=wasm`);
    await waitForRun(page, plan, { input: 'sample:eval-305', timeout: 90_000 });
    expect(await page.getByTestId('plan-text').inputValue()).toBe(plan);
    expect(await page.getByTestId('sample-eval-305').getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByTestId('backend-select').inputValue()).toBe('wasm');
    expect(await page.locator('.step-label').textContent()).toMatch(/^After block 2 of/);
    const set = parseEvalSet(new Uint8Array(readFileSync('public/data/fmnist-test-1000.bin')));
    const px = set.size * set.size;
    expect(await shown(page)).toEqual(await expected(set.images.subarray(305 * px, 306 * px), plan));
    // Changing state rewrites the link; the link reads back to the same state.
    await page.getByRole('button', { name: 'Next block' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('layer')).toBe('3');
    const search = new URL(page.url()).search;
    expect(search).toContain('plan=tome:r=5,layers=1-4');
    expect(search).toContain('sample=eval-305');
    expect(search).toContain('backend=wasm');
    await page.close();
  }, 120_000);

  it('ignores a hostile plan in the link with a notice and runs the unreduced model', async () => {
    const page = await openPage(`/?plan=${encodeURIComponent('<script>alert(1)</script>')}&sample=${encodeURIComponent('"><img src=x onerror=alert(2)>')}`);
    await waitForRun(page, 'none', { timeout: 90_000 });
    const notices = await page.getByTestId('notices').textContent();
    expect(notices).toMatch(/Ignored plan "<script>alert\(1\)<\/script>" from the link/);
    expect(notices).toMatch(/unreduced model runs instead/);
    expect(notices).toMatch(/Ignored sample image/);
    // Shown as text, never as markup: no script element or image came from the link.
    expect(await page.evaluate(() => document.body.innerHTML.includes('<script>alert') || document.querySelector('img[src="x"]') !== null)).toBe(false);
    expect(await page.evaluate(() => document.body.innerHTML.includes('&lt;script&gt;alert(1)&lt;/script&gt;'))).toBe(true);
    expect(await page.getByTestId('plan-text').inputValue()).toBe('none');
    const counts = (await shown(page)).counts;
    expect(new Set(counts)).toEqual(new Set([model.config.image_size ** 2 / model.config.patch_size ** 2 + 1]));
    await page.close();
  }, 120_000);

  it('chooses wasm over software GPU adapters, switches backends, and agrees on WebGPU', async () => {
    const page = await openPage('/?plan=tome:r=4&sample=fm-sneaker');
    await waitForRun(page, 'tome:r=4', { timeout: 90_000 });
    // On this machine WebGPU and WebGL are SwiftShader: automatic choice lands on wasm, and says why.
    const probes = await page.getByTestId('backend-notes').textContent();
    if (/software renderer/.test(probes ?? '')) expect(await page.getByTestId('backend').textContent()).toBe('wasm');
    const { u8 } = await exportedInput(page);
    const want = await expected(u8, 'tome:r=4');
    expect(await shown(page)).toEqual(want);

    await page.getByTestId('backend-select').selectOption('cpu');
    await waitForRun(page, 'tome:r=4', { backend: 'cpu', timeout: 60_000 });
    expect(await page.getByTestId('backend').textContent()).toBe('cpu');
    expect((await shown(page)).counts).toEqual(want.counts);
    expect(await page.getByTestId('gpu-memory').textContent()).toBe('GPU memory: not applicable on cpu (its tensors live in JavaScript memory).');

    await page.getByTestId('backend-select').selectOption('webgpu');
    await waitForRun(page, 'tome:r=4', { backend: 'webgpu', timeout: 120_000 });
    expect(await page.getByTestId('backend').textContent()).toBe('webgpu');
    const gpu = await shown(page);
    expect(gpu.counts).toEqual(want.counts);
    expect(gpu.gflops).toBe(want.gflops);
    // What WebGPU holds: the weights and more are live tensors, and the pool is kept to one run's use.
    const memory = (await page.getByTestId('gpu-memory').textContent()) ?? '';
    const [, held, live] = memory.match(/^GPU memory held by WebGPU: ([\d.]+) MiB \(([\d.]+) MiB in live tensors, the rest buffers TF\.js keeps for reuse/) ?? [];
    expect(Number(live)).toBeGreaterThan(0);
    expect(Number(held)).toBeGreaterThanOrEqual(Number(live));
    await page.screenshot({ path: join(ARTIFACTS, 'playground-webgpu.png'), fullPage: true });
    expect(new URL(page.url()).searchParams.get('backend')).toBe('webgpu');
    await page.close();
  }, 180_000);

  it('refuses a non-image, a damaged image and an enormous one with clear messages, keeps working, and takes drops and pastes', async () => {
    const page = await openPage('/?backend=wasm');
    await waitForRun(page, 'none', { timeout: 90_000 });
    const error = page.getByTestId('image-error');
    await page.getByTestId('image-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await expect.poll(() => error.textContent()).toMatch(/notes\.txt \(text\/plain\) is not an image/);
    await page
      .getByTestId('image-file')
      .setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('\x89PNG\r\n\x1a\n this is not really a PNG') });
    await expect.poll(() => error.textContent()).toMatch(/broken\.png could not be decoded/);
    const huge = Buffer.alloc(33);
    huge.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    huge.writeUInt32BE(40_000, 16);
    huge.writeUInt32BE(30_000, 20);
    await page.getByTestId('image-file').setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: huge });
    await expect.poll(() => error.textContent()).toMatch(/huge\.png is 40000×30000 pixels; the limit is/);
    // Still working: the last good image stays, and a method still runs.
    await page.getByTestId('method-toggle-evit').check();
    await waitForRun(page, 'evit', { input: 'sample:' });
    const { u8 } = await exportedInput(page);
    expect(await shown(page)).toEqual(await expected(u8, 'evit'));
    await page.screenshot({ path: join(ARTIFACTS, 'playground-image-error.png'), fullPage: true });
    // Drag and drop onto the image panel, then paste: both go through the same decoding.
    for (const [how, name] of [
      ['drop', 'dropped.png'],
      ['paste', 'pasted.png'],
    ] as const) {
      await page.evaluate(
        async ([h, n]) => {
          const blob = await (await fetch('images/fmnist/test-0002-trouser.png')).blob();
          const data = new DataTransfer();
          data.items.add(new File([blob], n, { type: 'image/png' }));
          const event =
            h === 'drop'
              ? new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })
              : new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
          document.querySelector(h === 'drop' ? '.image-panel' : 'body')!.dispatchEvent(event);
        },
        [how, name] as const,
      );
      await waitForRun(page, 'evit', { input: 'upload:' });
      // The dropped image's finished run also matches 'upload:': wait for this image's own run.
      await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 30_000 }).toContain(name);
    }
    expect(await page.getByTestId('image-error').count()).toBe(0);
    await page.close();
  }, 120_000);

  it('is usable from the keyboard: tab to the controls with a visible focus ring, arrows follow a patch', async () => {
    const plan = 'evit:layers=1+tome:r=5,layers=2-5';
    const page = await openPage(`/?plan=${encodeURIComponent(plan)}&sample=fm-sneaker&layer=3&backend=wasm`);
    await waitForRun(page, plan, { timeout: 90_000 });
    const visited: string[] = [];
    let gridReached = false;
    for (let i = 0; i < 120 && !gridReached; i++) {
      await page.keyboard.press('Tab');
      const info = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const style = getComputedStyle(el);
        return { id: el.dataset.testid ?? el.id ?? el.tagName, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
      });
      visited.push(info.id);
      expect(info.outline, `focus ring on ${info.id}`).not.toBe('none');
      expect(info.width).toBeGreaterThanOrEqual(2);
      gridReached = info.id === 'token-grid';
    }
    expect(visited).toContain('backend-select');
    expect(visited).toContain('image-file');
    expect(visited).toContain('plan-text');
    expect(gridReached).toBe(true);
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getByTestId('lineage-text').textContent()).toMatch(/^Patch row \d+, column \d+: blocks? 0/);
    await page.keyboard.press('Enter');
    await page.screenshot({ path: join(ARTIFACTS, 'playground-keyboard.png'), fullPage: true });
    // The README's screenshot is rewritten only on request, so test runs leave the tree clean.
    if (process.env.UPDATE_DOCS_SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'playground.png'), fullPage: false });
    await page.close();
  }, 120_000);

  it('builds a static site that works from a sub-folder of any static host, model and wasm included', async () => {
    const host = await hostInSubfolder(await builtSite('v1'));
    try {
      const page = await session.browser.newPage();
      const failures: string[] = [];
      page.on('response', (r) => r.status() >= 400 && failures.push(`${r.status()} ${r.url()}`));
      await page.goto(`${host.url}?plan=tome:r=4&sample=chelsea`);
      await waitForRun(page, 'tome:r=4', { input: 'sample:chelsea', backend: 'wasm', timeout: 60_000 });
      expect(failures).toEqual([]);
      expect(host.requested.some((p) => p.endsWith('.wasm'))).toBe(true);
      const bundled = existsSync(join(MODEL_DIR, 'model.safetensors'));
      expect(host.requested.some((p) => p.endsWith('.safetensors'))).toBe(bundled);
      const { u8 } = await exportedInput(page);
      expect(await shown(page)).toEqual(await expected(u8, 'tome:r=4'));
      await page.close();
    } finally {
      await host.close();
    }
  }, 120_000);
});
