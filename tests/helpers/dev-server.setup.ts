/**
 * Global set-up of the browser tests: one Vite dev server for every test file (in vitest's main
 * process, closed at the end). A dev server transforms each module on first request and keeps the
 * result, so files after the first get the playground, the compare page and the harnesses without
 * waiting for those transforms again; each file still starts its own Chromium (tests/helpers/browser.ts).
 */
import type { TestProject } from 'vitest/node';
import { startDevServer } from './dev-server';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { server, baseUrl } = await startDevServer();
  project.provide('devServer', baseUrl);
  return () => server.close();
}
