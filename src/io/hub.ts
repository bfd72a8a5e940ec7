/**
 * Downloading checkpoints: plain GETs with progress, cancel, resume-safe retries and a cache for
 * offline reuse. Browser, worker and Node alike (fetch, AbortSignal, Response are all standard).
 *
 *   downloadBytes(url, { fetch, cache, signal, onProgress, retries })
 *     1. the cache first: an entry is used only if its recorded length matches its bytes
 *     2. GET; after a dropped connection, GET again with `Range: bytes=<received>-`. A 206 whose
 *        Content-Range starts exactly there (same total, same ETag) is appended; anything else —
 *        a 200 (no range support), another start, another total or ETag — restarts from byte 0
 *     3. the final length must equal the announced one (and `expectedBytes` when given); only
 *        then are the bytes returned and cached. A partial file is never cached or returned
 *   downloadHubFiles(ref, …) fetches config.json (+ preprocessor_config.json) and
 *     model.safetensors; offlineHubFiles reads them from the cache alone; downloadCatalogModel
 *     adds loadCheckpoint.
 *
 * Errors are TokenScopeErrors: 'cancelled' (the signal fired), 'data-missing' (HTTP 401/403/404/
 * 410: no retry), 'download-failed' (network or server trouble after every retry),
 * 'data-malformed' (a length that does not add up).
 */
import { TokenScopeError } from '../errors';
import { catalogUrls, HUB_BASE_URL, type HubModelRef } from './catalog';
import { loadCheckpoint, type CheckpointFiles, type LoadedCheckpoint } from './checkpoint';

/** The part of the browser's Cache interface we use; `caches.open(name)` satisfies it. */
export interface ByteCache {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  delete(url: string): Promise<boolean>;
}

/** An in-memory ByteCache (Node tests, or a browser without Cache Storage). */
export class MemoryCache implements ByteCache {
  readonly entries = new Map<string, { bytes: Uint8Array; headers: [string, string][] }>();

  async match(url: string): Promise<Response | undefined> {
    const e = this.entries.get(url);
    return e ? new Response(e.bytes.slice(), { headers: e.headers }) : undefined;
  }

  async put(url: string, response: Response): Promise<void> {
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.entries.set(url, { bytes, headers: [...response.headers.entries()] });
  }

  async delete(url: string): Promise<boolean> {
    return this.entries.delete(url);
  }
}

export const BROWSER_CACHE_NAME = 'tokenscope-models-v1';

/** The browser's Cache Storage bucket for checkpoints, or undefined where there is none (Node, http pages). */
export async function openBrowserCache(name = BROWSER_CACHE_NAME): Promise<ByteCache | undefined> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return undefined;
  try {
    const cache = await storage.open(name);
    return {
      match: (url) => cache.match(url),
      put: (url, response) => cache.put(url, response),
      delete: (url) => cache.delete(url),
    };
  } catch {
    return undefined; // storage disabled (private mode, quota): download without caching
  }
}

export interface DownloadProgress {
  url: string;
  receivedBytes: number;
  /** null until the server announces a length. */
  totalBytes: number | null;
  /** 1 for the first request; counts retries. */
  attempt: number;
  fromCache: boolean;
}

export interface DownloadOptions {
  /** Defaults to globalThis.fetch. */
  fetch?: typeof fetch;
  cache?: ByteCache;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Extra attempts after the first (default 4). */
  retries?: number;
  /** Wait before retry k is retryDelayMs · 2^(k−1) (default 500). */
  retryDelayMs?: number;
  /** Reject unless the file has exactly this many bytes. */
  expectedBytes?: number;
  /** Reject a file announced larger than this (default 2 GB). */
  maxBytes?: number;
  /**
   * The start of the file from an earlier, interrupted download (with the total length and ETag
   * the server announced then): the first request asks for the rest with Range, under the same
   * rules as a retry.
   */
  resumeFrom?: { bytes: Uint8Array; totalBytes: number; etag: string | null };
  /** Each piece of the body as it arrives, at its offset in the file (0 again after a restart). */
  onChunk?: (chunk: Uint8Array, offset: number) => void;
}

export interface DownloadResult {
  bytes: Uint8Array;
  fromCache: boolean;
  /** Requests made (0 from the cache). */
  attempts: number;
}

/** Header recording the verified length of a cached entry. */
const LENGTH_HEADER = 'x-tokenscope-bytes';
const DEFAULT_MAX_BYTES = 2_000_000_000;

function cancelled(url: string): TokenScopeError {
  return new TokenScopeError('cancelled', `download of ${url} was cancelled`, { url });
}

function sleep(ms: number, signal: AbortSignal | undefined, url: string): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(cancelled(url));
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/** `bytes 100-199/1000` -> { start: 100, end: 199, total: 1000 } (total null for `*`). */
function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v.trim()) : null;
  if (!m) return null;
  const [start, end] = [Number(m[1]), Number(m[2])];
  const total = m[3] === '*' ? null : Number(m[3]);
  if (end < start || (total !== null && end >= total)) return null;
  return { start, end, total };
}

function contentLength(res: Response): number | null {
  const v = res.headers.get('content-length');
  if (v === null || !/^\d+$/.test(v.trim())) return null;
  const enc = res.headers.get('content-encoding');
  if (enc && enc.toLowerCase() !== 'identity') return null; // fetch decodes: the length is of the encoded body
  return Number(v);
}

const describeError = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Downloads `url` completely (see the module comment). Never returns or caches a partial file. */
export async function downloadBytes(url: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const { cache, signal, onProgress } = opts;
  const retries = opts.retries ?? 4;
  const retryDelayMs = opts.retryDelayMs ?? 500;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (signal?.aborted) throw cancelled(url);

  if (cache) {
    const hit = await cache.match(url).catch(() => undefined);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      const recorded = Number(hit.headers.get(LENGTH_HEADER));
      if (recorded === bytes.length && (opts.expectedBytes === undefined || opts.expectedBytes === bytes.length)) {
        onProgress?.({ url, receivedBytes: bytes.length, totalBytes: bytes.length, attempt: 0, fromCache: true });
        return { bytes, fromCache: true, attempts: 0 };
      }
      await cache.delete(url).catch(() => false); // not what we stored: never trust it
    }
  }

  let buffer: Uint8Array | null = null; // when the total is known
  let chunks: Uint8Array[] = []; // when it is not
  let received = 0;
  let total: number | null = null;
  let etag: string | null = null;
  let lastError = 'no attempt made';
  let attempt = 0;
  const restart = () => {
    buffer = null;
    chunks = [];
    received = 0;
    total = null;
    etag = null;
  };

  const from = opts.resumeFrom;
  if (from && from.bytes.length > 0 && from.bytes.length < from.totalBytes && from.totalBytes <= maxBytes) {
    buffer = new Uint8Array(from.totalBytes);
    buffer.set(from.bytes);
    received = from.bytes.length;
    total = from.totalBytes;
    etag = from.etag;
  }

  let complete = false;
  while (!complete && attempt <= retries) {
    attempt++;
    if (attempt > 1) await sleep(retryDelayMs * 2 ** (attempt - 2), signal, url);
    if (signal?.aborted) throw cancelled(url);
    const resume = received > 0 && total !== null;
    let res: Response;
    try {
      res = await doFetch(url, { method: 'GET', headers: resume ? { Range: `bytes=${received}-` } : {}, signal });
    } catch (e) {
      if (signal?.aborted) throw cancelled(url);
      lastError = `request failed (${describeError(e)})`;
      continue;
    }
    if ([401, 403, 404, 410].includes(res.status)) {
      await res.body?.cancel().catch(() => undefined);
      throw new TokenScopeError(
        'data-missing',
        `the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''} for ${url}: the file is not there or not public; check the repository, revision and file name`,
        { url, status: res.status },
      );
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel().catch(() => undefined);
      lastError = `the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (res.status >= 500 || res.status === 408 || res.status === 429 || res.status === 416) {
        if (res.status === 416) restart();
        continue;
      }
      throw new TokenScopeError('download-failed', `${lastError} for ${url}`, { url, status: res.status });
    }

    const tag = res.headers.get('etag');
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('content-range'));
      const usable =
        range !== null && range.start === (resume ? received : 0) && (total === null || range.total === total) && (!resume || !etag || !tag || tag === etag);
      if (!usable || range.total === null) {
        await res.body?.cancel().catch(() => undefined);
        lastError = `the server sent a partial response (${res.headers.get('content-range') ?? 'no Content-Range'}) that does not continue the file`;
        restart();
        continue;
      }
      total = range.total;
    } else {
      if (received > 0) restart(); // the server ignored Range: start over from its full response
      total = contentLength(res);
    }
    if (!resume) etag = tag;
    if (total !== null && total > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new TokenScopeError('data-malformed', `${url} is ${total} bytes, more than the ${maxBytes}-byte limit`, { url, totalBytes: total });
    }
    if (total !== null && buffer === null) buffer = new Uint8Array(total);
    onProgress?.({ url, receivedBytes: received, totalBytes: total, attempt, fromCache: false });

    if (!res.body) {
      lastError = 'the response had no body';
      continue;
    }
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        opts.onChunk?.(value, received);
        if (total !== null) {
          if (received + value.length > total) {
            throw new TokenScopeError('data-malformed', `${url}: the server sent more than the ${total} bytes it announced`, { url, totalBytes: total });
          }
          (buffer as unknown as Uint8Array).set(value, received);
        } else {
          chunks.push(value);
        }
        received += value.length;
        if (total === null && received > maxBytes) {
          throw new TokenScopeError('data-malformed', `${url} is larger than the ${maxBytes}-byte limit`, { url });
        }
        onProgress?.({ url, receivedBytes: received, totalBytes: total, attempt, fromCache: false });
      }
    } catch (e) {
      await reader.cancel().catch(() => undefined);
      if (signal?.aborted) throw cancelled(url);
      if (e instanceof TokenScopeError) throw e;
      lastError = `the connection broke after ${received} of ${total ?? 'an unknown number of'} bytes (${describeError(e)})`;
      if (total === null) restart(); // no length: cannot resume safely
      continue;
    }
    if (total === null || received === total) {
      complete = true;
    } else {
      lastError = `the response ended after ${received} of the ${total} bytes announced`;
    }
  }
  if (!complete) {
    throw new TokenScopeError('download-failed', `could not download ${url} after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${lastError}`, {
      url,
      attempts: attempt,
    });
  }

  let bytes: Uint8Array;
  if (buffer) {
    bytes = buffer;
  } else {
    bytes = new Uint8Array(received);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
  }
  if (opts.expectedBytes !== undefined && bytes.length !== opts.expectedBytes) {
    throw new TokenScopeError('data-malformed', `${url} has ${bytes.length} bytes, expected ${opts.expectedBytes}; the file on the server is not the one expected`, {
      url,
      receivedBytes: bytes.length,
    });
  }
  if (signal?.aborted) throw cancelled(url);
  if (cache) {
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), [LENGTH_HEADER]: String(bytes.length) };
    await cache.put(url, new Response(bytes.slice(), { headers })).catch(() => undefined); // a full cache only costs the offline copy
  }
  return { bytes, fromCache: false, attempts: attempt };
}

export type CatalogFile = 'config.json' | 'preprocessor_config.json' | 'model.safetensors';

export interface CatalogProgress extends DownloadProgress {
  file: CatalogFile;
}

export interface CatalogDownloadOptions extends Omit<DownloadOptions, 'onProgress' | 'expectedBytes'> {
  onProgress?: (p: CatalogProgress) => void;
  /** Hub base URL (tests point it at a local server). */
  hubBase?: string;
}

async function downloadJson(url: string, file: CatalogFile, opts: CatalogDownloadOptions): Promise<{ value: unknown; fromCache: boolean }> {
  const { bytes, fromCache } = await downloadBytes(url, { ...opts, maxBytes: 16_000_000, onProgress: (p) => opts.onProgress?.({ ...p, file }) });
  try {
    return { value: JSON.parse(new TextDecoder().decode(bytes)), fromCache };
  } catch (e) {
    throw new TokenScopeError('data-malformed', `${file} from ${url} is not valid JSON (${describeError(e)})`, { url });
  }
}

export interface HubFiles {
  files: CheckpointFiles;
  /** Every file came from the cache (no network). */
  fromCache: boolean;
}

/**
 * Downloads a hub repository's checkpoint files: config.json, preprocessor_config.json when the
 * repository may have one (a 404 there is no error), then model.safetensors. No tensors are made:
 * a page hands the files to its engine worker.
 */
export async function downloadHubFiles(ref: HubModelRef, opts: CatalogDownloadOptions = {}): Promise<HubFiles> {
  const urls = catalogUrls(ref, opts.hubBase ?? HUB_BASE_URL);
  const config = await downloadJson(urls.config, 'config.json', opts);
  let preprocessor: { value: unknown; fromCache: boolean } | undefined;
  if (urls.preprocessor) {
    try {
      preprocessor = await downloadJson(urls.preprocessor, 'preprocessor_config.json', opts);
    } catch (e) {
      if (!(e instanceof TokenScopeError && e.code === 'data-missing')) throw e; // optional file
    }
  }
  const weights = await downloadBytes(urls.safetensors, { ...opts, onProgress: (p) => opts.onProgress?.({ ...p, file: 'model.safetensors' }) });
  const fromCache = config.fromCache && weights.fromCache && (preprocessor?.fromCache ?? true);
  return { files: { safetensors: weights.bytes, config: config.value, preprocessor: preprocessor?.value }, fromCache };
}

/** A fetch that finds nothing: downloads through it succeed only from the cache. */
const nothingOnline: typeof fetch = () => Promise.resolve(new Response(null, { status: 404, statusText: 'offline copy only' }));

/** The repository's files from the cache alone, or null when any required file is not there. */
export async function offlineHubFiles(ref: HubModelRef, opts: Omit<CatalogDownloadOptions, 'fetch'> & { cache: ByteCache }): Promise<HubFiles | null> {
  try {
    return await downloadHubFiles(ref, { ...opts, fetch: nothingOnline, retries: 0 });
  } catch (e) {
    if (e instanceof TokenScopeError && e.code === 'data-missing') return null;
    throw e;
  }
}

export interface CatalogDownload {
  files: CheckpointFiles;
  checkpoint: LoadedCheckpoint;
  /** Every file came from the cache (no network). */
  fromCache: boolean;
}

/** downloadHubFiles, then loadCheckpoint on this thread; the caller owns the model's tensors. */
export async function downloadCatalogModel(entry: HubModelRef, opts: CatalogDownloadOptions = {}): Promise<CatalogDownload> {
  const { files, fromCache } = await downloadHubFiles(entry, opts);
  const checkpoint = loadCheckpoint(files);
  checkpoint.notes.unshift(`Downloaded from ${entry.repo} at revision ${entry.revision}${fromCache ? ' (from the offline cache)' : ''}.`);
  return { files, checkpoint, fromCache };
}
