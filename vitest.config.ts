import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const BROWSER_TESTS = ['tests/e2e/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One fork per core: vitest's default leaves one core idle, which on CI's two cores halves the
    // Node tests' speed (112 s against 75 s here). The browser tests run one file at a time anyway.
    maxWorkers: availableParallelism(),
    projects: [
      {
        // Node-only tests: one file per core.
        extends: true,
        test: { name: 'node', include: ['src/**/*.test.ts', 'tests/**/*.test.ts'], exclude: BROWSER_TESTS, sequence: { groupOrder: 0 } },
      },
      {
        // Browser tests, one file at a time and after the Node tests: the pages are cross-origin
        // isolated and run wasm on every core, so two at once would only make each wait for the
        // other and time out.
        extends: true,
        test: {
          name: 'browser',
          include: BROWSER_TESTS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          // made once per run and shared by every file: the production builds several files serve (tests/helpers/built-site.ts), one dev server
          globalSetup: ['tests/helpers/built-sites.setup.ts', 'tests/helpers/dev-server.setup.ts'],
        },
      },
    ],
  },
});
