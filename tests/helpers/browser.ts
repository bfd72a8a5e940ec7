/**
 * Headless Debian Chromium driven by playwright-core, against a Vite dev server started in this
 * process (a server spawned through npx can outlive the run and hang it).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../../src/cli/chromium';

const here = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = CHROMIUM_PATH;
export const ARTIFACTS = resolve(here, '../../test-results');

export interface BrowserSession {
  server: ViteDevServer;
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
  const server = await createServer({
    root: resolve(here, '../..'),
    configFile: resolve(here, '../../vite.config.ts'),
    server: { port: 0, host: '127.0.0.1', strictPort: false, hmr: false },
    logLevel: 'error',
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not bind a port');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  return {
    server,
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
      await server.close();
    },
  };
}
