/**
 * The two headers that make a page cross-origin isolated, so browsers grant it SharedArrayBuffer
 * and the wasm backend can run threads. Vite sets them in `dev` and `preview`; on a static host
 * that cannot set headers the service worker adds them (service-worker.ts).
 *
 * COEP `require-corp` rather than `credentialless`: Safari supports only `require-corp`, and the
 * site needs nothing that `credentialless` would rescue — its own files are same-origin, and its
 * one cross-origin fetch (the Hugging Face hub, and the CDN it redirects to) is a CORS request
 * those servers answer with Access-Control-Allow-Origin, which satisfies `require-corp`. What it
 * rules out is embedding another site's resource without CORS or CORP (a hot-linked <img>).
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};
