import { it } from 'vitest';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../../src/cli/chromium';
import { serveStatic } from '../helpers/static-server';
it('debug', async () => {
  const server = await serveStatic('/tmp/sitedbg');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
  const context = await browser.newContext();
  context.on('serviceworker', (w) => console.log('[sw]', w.url()));
  const page = await context.newPage();
  page.on('console', (m) => console.log('[c]', m.text().slice(0, 300)));
  page.on('pageerror', (m) => console.log('[err]', m.message.slice(0, 300)));
  await page.goto(`${server.base}/sub/tokenscope/?backend=wasm`);
  for (let i = 0; i < 6; i++) {
    await page.waitForTimeout(2000);
    try {
      console.log(await page.evaluate(async () => { const r = await navigator.serviceWorker.getRegistration(); return JSON.stringify([self.crossOriginIsolated, !!navigator.serviceWorker.controller, r?.active?.state, r?.installing?.state, r?.waiting?.state, await caches.keys(), location.href]); }));
    } catch (e) { console.log('eval failed', (e as Error).message.slice(0, 100)); }
  }
  console.log(server.requested.join(' '));
  await browser.close(); await server.close();
}, 60000);
