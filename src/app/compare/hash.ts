/** Content hashes for cache keys; pure, and safe to import into the page (no TF.js). */

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');

/**
 * A content hash (hex) of several byte strings, each prefixed by its length so that boundaries
 * count: SHA-256 where the browser offers crypto.subtle (secure contexts: https, localhost), else
 * 64-bit FNV-1a (plain-http hosts). The name of the algorithm leads the text, so the two never mix
 * in a cache key.
 */
export async function contentHash(parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((n, p) => n + 8 + p.length, 0);
  const all = new Uint8Array(total);
  const view = new DataView(all.buffer);
  let at = 0;
  for (const p of parts) {
    view.setBigUint64(at, BigInt(p.length), true);
    all.set(p, at + 8);
    at += 8 + p.length;
  }
  if (globalThis.crypto?.subtle) return `sha256:${hex(await crypto.subtle.digest('SHA-256', all))}`;
  let h = 0xcbf29ce484222325n;
  for (const b of all) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return `fnv1a64:${h.toString(16).padStart(16, '0')}`;
}
