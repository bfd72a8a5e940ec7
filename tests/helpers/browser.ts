/**
 * Headless Debian Chromium driven by playwright-core, against a Vite dev server: under vitest the
 * one its global set-up started for every browser test file (tests/helpers/dev-server.setup.ts),
 * elsewhere (the benches' scripts) one started in this process.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../../src/cli/chromium';
import { startDevServer } from './dev-server';

const here = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = CHROMIUM_PATH;
export const ARTIFACTS = resolve(here, '../../test-results');

export interface BrowserSession {
  browser: Browser;
  baseUrl: string;
  /** A page at `path`, navigation allowed `navigationTimeout` ms (the dev server's first transform, on a busy machine). */
  newPage(path: string, navigationTimeout?: number): Promise<Page>;
  close(): Promise<void>;
}

export async function startBrowserSession(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser tests need Chromium at ${CHROMIUM}: install it with 'apt-get install -y chromium'`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const shared = await sharedDevServer();
  const own = shared === undefined ? await startDevServer() : undefined;
  const baseUrl = shared ?? own!.baseUrl;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  return {
    browser,
    baseUrl,
    async newPage(path, navigationTimeout = 120_000) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
      page.setDefaultNavigationTimeout(navigationTimeout);
      await page.goto(`${baseUrl}${path}`);
      return page;
    },
    async close() {
      await browser.close();
      await own?.server.close();
    },
  };
}

/** The dev server vitest's global set-up started, if this runs under it with that set-up. */
async function sharedDevServer(): Promise<string | undefined> {
  if (!process.env.VITEST) return undefined;
  const { inject } = await import('vitest');
  return inject('devServer');
}
