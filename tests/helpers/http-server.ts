/**
 * A local HTTP file server for download tests (node:http on 127.0.0.1, port 0), with knobs for the
 * failures a real network produces: slow chunked transfers, connections dropped midway, servers
 * that ignore Range, lying Content-Length, changed ETags and error statuses. Every request is
 * recorded so a test can check what the client asked for.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server does for one request (n = 0 for the first request to the path). */
export interface Behaviour {
  /** Answer with this status and an empty body. */
  status?: number;
  /** Send this many body bytes, then destroy the connection. */
  dropAfter?: number;
  /** Answer 200 with the whole file even when a Range is asked for. */
  ignoreRange?: boolean;
  /** Announce this Content-Length but send the real body, then close. */
  announceLength?: number;
  /** ETag to send (default: the route's). */
  etag?: string;
  /** Answer a Range with a 206 starting at this byte instead of the asked one. */
  wrongStart?: number;
}

export interface Route {
  body: Uint8Array;
  etag?: string;
  /** Honour `Range: bytes=N-` (default true). */
  ranges?: boolean;
  /** Bytes per write (default: all at once) and the pause between writes. */
  chunk?: number;
  delayMs?: number;
  behave?: (n: number) => Behaviour;
}

export interface RecordedRequest {
  method: string;
  path: string;
  range: string | undefined;
  /** The client went away before the response finished. */
  aborted: boolean;
}

export interface TestServer {
  base: string;
  requests: RecordedRequest[];
  routes: Map<string, Route>;
  close(): Promise<void>;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ServerOptions {
  /** Answer cross-origin requests as the hub does (browser tests): CORS headers, OPTIONS preflight. */
  cors?: boolean;
}

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Range, ETag, Content-Length, Accept-Ranges',
};

export async function startServer(routes: Record<string, Route>, { cors = false }: ServerOptions = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: RecordedRequest[] = [];
  const counts = new Map<string, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const record: RecordedRequest = { method: req.method ?? '', path, range: req.headers.range, aborted: false };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
    });
    if (cors) {
      for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'Range', 'access-control-max-age': '600' }).end();
        return;
      }
    }
    const route = table.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    const b = route.behave?.(n) ?? {};
    if (b.status) {
      res.writeHead(b.status).end();
      return;
    }
    const body = route.body;
    const etag = b.etag ?? route.etag;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': route.ranges === false ? 'none' : 'bytes' };
    if (etag) headers.etag = etag;
    let status = 200;
    if (m && route.ranges !== false && !b.ignoreRange) {
      start = b.wrongStart ?? Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    headers['content-length'] = String(b.announceLength ?? slice.length);
    res.writeHead(status, headers);
    const limit = b.dropAfter ?? slice.length;
    const chunk = route.chunk ?? slice.length;
    for (let at = 0; at < limit; at += chunk) {
      if (res.destroyed) return;
      res.write(slice.subarray(at, Math.min(at + chunk, limit)));
      if (route.delayMs) await wait(route.delayMs);
    }
    if (b.dropAfter !== undefined || b.announceLength !== undefined) {
      await wait(5);
      res.destroy();
      return;
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    routes: table,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
