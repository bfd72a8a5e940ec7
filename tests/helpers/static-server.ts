/**
 * A plain static file server (node:http on 127.0.0.1, port 0) for the built site: files under
 * `root`, a folder's index.html, the usual content types — and no other headers, like a static
 * host that cannot set COOP/COEP (GitHub Pages). Every path asked for is recorded.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
};

export interface StaticServer {
  base: string;
  requested: string[];
  /** While true, every connection is dropped unanswered, as with the network down. */
  down: boolean;
  close(): Promise<void>;
}

export async function serveStatic(root: string): Promise<StaticServer> {
  const requested: string[] = [];
  const state = { down: false };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^([/\\])+/, '');
    const file = join(root, path.endsWith('/') || path === '' ? join(path, 'index.html') : path);
    requested.push(path);
    if (state.down) return void req.socket.destroy();
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requested,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
