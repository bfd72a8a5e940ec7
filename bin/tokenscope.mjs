#!/usr/bin/env node
// Runs the TypeScript CLI in place through tsx, so `npx tokenscope` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
// A closed pipe (`tokenscope ... | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
