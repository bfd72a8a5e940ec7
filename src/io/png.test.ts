import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodePng } from './png';
import { deflateSync } from 'node:zlib';

/** Splits a PNG into chunks, checking each CRC with zlib's own implementation. */
function chunks(png: Uint8Array) {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: { type: string; data: Uint8Array }[] = [];
  for (let at = 8; at < png.length;) {
    const len = v.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + len);
    expect(v.getUint32(at + 8 + len), `${type} CRC`).toBe(zlibCrc32(png.subarray(at + 4, at + 8 + len)));
    out.push({ type, data });
    at += 12 + len;
  }
  return out;
}

describe('encodePng', () => {
  it('encodePng writes the PNG signature, a valid IHDR and rows that inflate back to the pixels', () => {
    const pixels = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 13);
    const png = encodePng(pixels, 3, 2, 3, (raw) => deflateSync(raw));
    expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    const cs = chunks(png);
    expect(cs.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(Array.from(cs[0].data)).toEqual([0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
    const raw = inflateSync(cs[1].data);
    expect(Array.from(raw)).toEqual([0, ...pixels.subarray(0, 9), 0, ...pixels.subarray(9)]);
  });

  it('encodePng refuses a pixel buffer of the wrong size', () => {
    expect(() => encodePng(new Uint8Array(5), 2, 2, 1, (r) => r)).toThrowError(expect.objectContaining({ code: 'shape-mismatch' }));
  });
});
