import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One test file at a time: the browser tests run wasm on every core (cross-origin isolated
    // pages), so two of them at once would only make each wait for the other and time out.
    maxWorkers: 1,
  },
});
