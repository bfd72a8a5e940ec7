/** A Vite dev server on the project, on a free local port, in this process (a server spawned through npx can outlive the run and hang it). */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared dev server's base URL (tests/helpers/dev-server.setup.ts). */
    devServer: string;
  }
}

export async function startDevServer(): Promise<{ server: ViteDevServer; baseUrl: string }> {
  const server = await createServer({
    root,
    configFile: resolve(root, 'vite.config.ts'),
    server: { port: 0, host: '127.0.0.1', strictPort: false, hmr: false },
    logLevel: 'error',
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not bind a port');
  return { server, baseUrl: `http://127.0.0.1:${address.port}` };
}
