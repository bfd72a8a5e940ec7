/**
 * The site's service worker (built into sw.js beside index.html by offline-plugin.ts, which puts
 * the build's manifest in front of this code). It does two jobs:
 *
 * - Offline: on install it downloads every file of its build, checks each against the SHA-256 in
 *   the manifest, and stores them in one cache named after the manifest's own hash; it then
 *   answers the site's requests from that cache. A build that fails to download or verify never
 *   installs, so the previous one keeps serving: the cache always holds exactly one build.
 * - Isolation: every same-origin response it returns carries COOP/COEP, so the page is
 *   cross-origin isolated (threads for wasm) even on hosts that cannot set headers.
 *
 * A new deploy changes the manifest, so the browser sees a new sw.js on the next visit. It
 * installs beside the old one, takes over, deletes the old build's cache, and the page reloads
 * (register.ts): new HTML, JS and wasm come from the one new cache, never mixed with old files.
 * Cross-origin requests (the Hugging Face hub) are left to the browser; src/io/hub.ts keeps its own
 * cache of downloaded checkpoints, which this worker never touches.
 */

interface SiteManifest {
  /** The build's label (CI commit, or 'local'). */
  build: string;
  /** The cache holding this build: `prefix` + the manifest's hash. */
  cache: string;
  /** What every build's cache name starts with: older builds' caches are the other names with it. */
  prefix: string;
  /** Every file of the build, relative to sw.js, with its SHA-256 in hex. */
  files: { path: string; sha256: string }[];
  headers: Record<string, string>;
}

declare const MANIFEST: SiteManifest;
// A script, not a module (service workers load as classic scripts everywhere), so no `declare const self`.
const sw = self as unknown as ServiceWorkerGlobalScope;

const fileUrl = (path: string) => new URL(path, sw.location.href).href;
const precached = new Set(MANIFEST.files.map((f) => fileUrl(f.path)));

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

async function storeVerified(cache: Cache, path: string, sha256: string): Promise<void> {
  const url = fileUrl(path);
  // 'reload' skips the HTTP cache: a copy cached from the previous deploy must not enter this one.
  const response = await fetch(new Request(url, { cache: 'reload' }));
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const got = hex(await crypto.subtle.digest('SHA-256', await response.clone().arrayBuffer()));
  if (got !== sha256) throw new Error(`${url}: the host served a different file than this build lists (a deploy in progress?)`);
  await cache.put(url, response);
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(MANIFEST.cache);
      try {
        await Promise.all(MANIFEST.files.map((f) => storeVerified(cache, f.path, f.sha256)));
      } catch (e) {
        await caches.delete(MANIFEST.cache);
        throw e;
      }
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(MANIFEST.prefix) && name !== MANIFEST.cache) await caches.delete(name);
      }
      await sw.clients.claim();
    })(),
  );
});

/** The precached URL a request is for: the page without its query (the app's state), a folder's index.html. */
function precacheKey(request: Request): string | null {
  const url = new URL(request.url);
  url.search = '';
  url.hash = '';
  if (url.pathname.endsWith('/')) url.pathname += 'index.html';
  return precached.has(url.href) ? url.href : null;
}

/** The response with the isolation headers; opaque and error responses cannot be rewritten. */
function isolated(response: Response): Response {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [k, v] of Object.entries(MANIFEST.headers)) headers.set(k, v);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function respond(request: Request): Promise<Response> {
  const key = request.headers.has('range') ? null : precacheKey(request);
  if (key) {
    const hit = await (await caches.open(MANIFEST.cache)).match(key);
    if (hit) return isolated(hit);
  }
  return isolated(await fetch(request));
}

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== sw.location.origin) return;
  event.respondWith(respond(request));
});

sw.addEventListener('message', (event) => {
  const data: unknown = event.data;
  if (data === 'build') event.source?.postMessage({ build: MANIFEST.build, cache: MANIFEST.cache });
  // A page asks whether its script is one of this build's files (register.ts: a page left behind by a new deploy reloads).
  if (typeof data === 'object' && data !== null && typeof (data as { serves?: unknown }).serves === 'string') {
    const url = new URL((data as { serves: string }).serves);
    url.search = '';
    url.hash = '';
    event.ports[0]?.postMessage({ serves: precached.has(url.href) });
  }
});
