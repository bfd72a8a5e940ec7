/**
 * The bench page (tests/bench/index.html) in headless Chromium, served by a Vite dev server, for the
 * scripts in this folder that measure inside one page. `close()` stops both.
 */
import { resolve } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { createServer } from 'vite';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../../src/cli/chromium';

const ROOT = resolve(import.meta.dirname, '../..');

export async function openBenchPage(): Promise<{ page: Page; close: () => Promise<void> }> {
  const server = await createServer({
    root: ROOT,
    configFile: resolve(ROOT, 'vite.config.ts'),
    server: { port: 0, host: '127.0.0.1', hmr: false },
    logLevel: 'error',
  });
  await server.listen();
  const port = (server.httpServer!.address() as { port: number }).port;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
  const close = async () => {
    await browser.close();
    await server.close();
  };
  try {
    const page = await browser.newPage();
    // generous: on a loaded machine the first load's module transforms take longer than Playwright's 30 s
    await page.goto(`http://127.0.0.1:${port}/tests/bench/index.html`, { timeout: 120_000 });
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 120_000 });
    return { page, close };
  } catch (e) {
    await close();
    throw e;
  }
}
