/**
 * gunzip through the platform's DecompressionStream (browsers, Web Workers, and Node ≥ 18).
 * Node code may prefer `gunzipNode` in `node-files.ts`, which is synchronous and uses zlib.
 * Kept apart from the parsers so they stay pure functions of bytes.
 */
import { TokenScopeError } from '../errors';
import { isGzip } from './idx';

/** Default cap on decompressed output: 1 GiB (Fashion-MNIST's largest file is 47 MB). */
export const DEFAULT_MAX_GUNZIP_BYTES = 1 << 30;

/**
 * Decompresses gzip `bytes`; input that is not gzip (no 1f 8b magic) is returned as is.
 * Throws 'data-malformed' for corrupt data or output above `maxOutputBytes` (stops reading there).
 */
export async function gunzip(bytes: Uint8Array, source = 'gzip data', maxOutputBytes = DEFAULT_MAX_GUNZIP_BYTES): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  const stream = new DecompressionStream('gzip');
  const writer = stream.writable.getWriter();
  // Errors surface on the reading side; swallow them here so they are not reported twice. The copy
  // gives the stream an ArrayBuffer-backed view (the input could sit on a SharedArrayBuffer).
  writer.write(new Uint8Array(bytes)).catch(() => undefined);
  writer.close().catch(() => undefined);

  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxOutputBytes) {
        await reader.cancel().catch(() => undefined);
        throw new TokenScopeError('data-malformed', `${source}: decompresses to more than ${maxOutputBytes} bytes; refusing`, { source });
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof TokenScopeError) throw e;
    throw new TokenScopeError('data-malformed', `${source}: gzip data is corrupt (${e instanceof Error ? e.message : String(e)})`, { source });
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
