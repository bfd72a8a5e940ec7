/**
 * The site as users get it (issue 12): cross-origin isolated, wasm on every core, offline after one
 * visit, and a new deploy picked up whole.
 *
 * - `npm run dev` (Vite in this process): the page is crossOriginIsolated and TF.js's wasm backend
 *   reports as many threads as the browser has cores (capped at 8), on both pages.
 * - The built site from a plain static server that sets no headers (tests/helpers/static-server.ts):
 *   the service worker makes the page isolated (after one reload), the engine runs threaded; with
 *   the network cut, both pages still load and the playground shows a prediction; a host serving
 *   a half-finished deploy is refused (the old build keeps serving, whole); a finished deploy
 *   replaces the old build on the next visit: its HTML, JS, wasm and model all come from the new
 *   build's cache and the old cache is gone.
 * - Service workers blocked and no headers: the page runs on one thread and says why.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../../src/cli/chromium';
import { MAX_WASM_THREADS } from '../../src/app/engine/threads';
import type { SiteManifest } from '../../src/site/offline-plugin';
import { startBrowserSession, type BrowserSession } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';

const PLAN = 'tome:r=4';
const PAGE = `?plan=${PLAN}&sample=chelsea&backend=wasm`;

/** Polls `fn` in the page until it returns true; survives the page reloading itself meanwhile. */
async function until(page: Page, fn: () => boolean, timeout = 60_000): Promise<void> {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      if (await page.evaluate(fn)) return;
    } catch {
      // the page navigated (its own reload) while we asked: ask again
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn.toString()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const runDone = () => {
  const el = document.querySelector('[data-testid="run-status"]') as HTMLElement | null;
  return el?.dataset.state === 'done' && el.dataset.backend === 'wasm';
};

async function threadsShown(page: Page): Promise<number> {
  await page.getByTestId('threads').waitFor({ timeout: 60_000 });
  return Number(await page.getByTestId('threads').textContent());
}

async function expectedThreads(page: Page): Promise<number> {
  return Math.min(await page.evaluate(() => navigator.hardwareConcurrency), MAX_WASM_THREADS);
}

describe('npm run dev', () => {
  let session: BrowserSession;
  beforeAll(async () => {
    session = await startBrowserSession();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('is cross-origin isolated and runs wasm on one thread per core, on both pages', async () => {
    const page = await session.newPage(`/${PAGE}`);
    await until(page, runDone);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    const want = await expectedThreads(page);
    expect(want).toBeGreaterThan(1); // this machine has 2 cores; a 1-core runner cannot show threads
    expect(await threadsShown(page)).toBe(want);
    expect(await page.getByTestId('threads-note').count()).toBe(0);
    await page.goto(`${session.baseUrl}/compare.html?n=8&backend=wasm`);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    expect(await threadsShown(page)).toBe(want);
    await page.close();
  });
});
