/**
 * A minimal PNG encoder for 8-bit greyscale or RGB images (filter 0 on every row). Pure: the
 * caller supplies zlib compression (`zlib.deflateSync` in Node, CompressionStream('deflate') in a
 * browser), so this file has no platform imports.
 */
import { TokenScopeError } from '../errors';
import { crc32 } from './crc32';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** `pixels` [height, width, channels] u8 row-major; channels 1 (grey) or 3 (RGB). */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, zlibDeflate: (raw: Uint8Array) => Uint8Array): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new TokenScopeError('shape-mismatch', `PNG: ${width}×${height}×${channels} needs ${width * height * channels} bytes, got ${pixels.length}`);
  }
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const ihdr = new Uint8Array(13);
  const h = new DataView(ihdr.buffer);
  h.setUint32(0, width);
  h.setUint32(4, height);
  ihdr.set([8, channels === 1 ? 0 : 2, 0, 0, 0], 8); // bit depth 8, colour type grey/RGB, deflate, filter 0, no interlace
  const chunks = [chunk('IHDR', ihdr), chunk('IDAT', zlibDeflate(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(8 + chunks.reduce((a, c) => a + c.length, 0));
  out.set(SIGNATURE, 0);
  let at = 8;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
