/**
 * decodeImageBytes on PNGs written byte by byte from the PNG specification: every colour type, bit
 * depth, row filter and interlacing the old hand-written decoder was tested on, now through sharp.
 */
import { crc32 as zlibCrc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImageBytes } from './decode-image-node';
import { encodePng } from './png';

const decodePng = (bytes: Uint8Array) => decodeImageBytes(bytes, 'test.png');

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, zlibCrc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG from raw (already filtered) scanlines, written here from the PNG specification. */
function png(width: number, height: number, depth: number, colour: number, scanlines: Uint8Array, { interlace = 0, extra = [] as Uint8Array[] } = {}): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([depth, colour, 0, 0, interlace], 8);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', new Uint8Array(deflateSync(scanlines))),
    chunk('IEND', new Uint8Array(0)),
  ];
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** Filters one row of bytes forward with PNG filter `type` (the encoder side, for the test). */
function filterRow(type: number, row: number[], prev: number[] | null, bpp: number): number[] {
  return row.map((x, i) => {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = prev ? prev[i] : 0;
    const c = prev && i >= bpp ? prev[i - bpp] : 0;
    const p = a + b - c;
    const pred = [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][
      type
    ];
    return (x - pred) & 0xff;
  });
}

describe('decodeImageBytes on PNG', () => {
  it('decodeImageBytes reads back what encodePng wrote, RGB and grey', async () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    expect(await decodePng(encodePng(rgb, 5, 3, 3, (r) => deflateSync(r)))).toEqual({ width: 5, height: 3, channels: 3, data: rgb });
    const grey = Uint8Array.from({ length: 28 * 28 }, (_, i) => i % 256);
    expect((await decodePng(encodePng(grey, 28, 28, 1, (r) => deflateSync(r)))).data).toEqual(grey);
  });

  it('decodeImageBytes undoes every row filter (None, Sub, Up, Average, Paeth)', async () => {
    const w = 6;
    const rows = Array.from({ length: 5 }, (_, y) => Array.from({ length: w * 3 }, (_, i) => (y * 53 + i * 29 + ((i * y) % 7) * 31) % 256));
    const lines: number[] = [];
    rows.forEach((row, y) => lines.push(y, ...filterRow(y, row, y > 0 ? rows[y - 1] : null, 3)));
    const img = await decodePng(png(w, 5, 8, 2, Uint8Array.from(lines)));
    expect(Array.from(img.data)).toEqual(rows.flat());
  });

  it('decodeImageBytes expands a 2-bit palette with tRNS transparency to RGBA', async () => {
    const plte = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
    const trns = Uint8Array.from([0, 128]);
    // 5 pixels of indices 0,1,2,3,1 at 2 bits: 00 01 10 11 | 01 000000
    const img = await decodePng(png(5, 1, 2, 3, Uint8Array.from([0, 0b00011011, 0b01000000]), { extra: [chunk('PLTE', plte), chunk('tRNS', trns)] }));
    expect(img.channels).toBe(4);
    expect(Array.from(img.data)).toEqual([255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 9, 9, 9, 255, 0, 255, 0, 128]);
  });

  it('decodeImageBytes keeps the high byte of 16-bit samples and scales 1-bit grey to 0/255', async () => {
    const img16 = await decodePng(png(2, 1, 16, 2, Uint8Array.from([0, 0x12, 0x34, 0xff, 0xff, 0x00, 0x01, 0x80, 0x00, 0x7f, 0xff, 0x00, 0x00])));
    expect(Array.from(img16.data)).toEqual([0x12, 0xff, 0x00, 0x80, 0x7f, 0x00]);
    const img1 = await decodePng(png(10, 1, 1, 0, Uint8Array.from([0, 0b10110000, 0b01000000])));
    expect(Array.from(img1.data)).toEqual([255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);
  });

  it('decodeImageBytes places Adam7-interlaced pixels where they belong', async () => {
    const [w, h] = [11, 9];
    const value = (x: number, y: number) => (x * 17 + y * 41) % 256;
    const passes = [
      [0, 0, 8, 8],
      [4, 0, 8, 8],
      [0, 4, 4, 8],
      [2, 0, 4, 4],
      [0, 2, 2, 4],
      [1, 0, 2, 2],
      [0, 1, 1, 2],
    ];
    const lines: number[] = [];
    for (const [x0, y0, dx, dy] of passes) {
      for (let y = y0; y < h; y += dy) {
        const row: number[] = [];
        for (let x = x0; x < w; x += dx) row.push(value(x, y));
        if (row.length > 0) lines.push(0, ...row);
      }
    }
    const img = await decodePng(png(w, h, 8, 0, Uint8Array.from(lines), { interlace: 1 }));
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(img.data[y * w + x], `${x},${y}`).toBe(value(x, y));
  });

  it('decodeImageBytes rejects damaged and hostile files with image-unreadable or image-too-large', async () => {
    const good = encodePng(new Uint8Array(12), 2, 2, 3, (r) => deflateSync(r));
    const flipped = good.slice();
    flipped[20] ^= 1; // inside IHDR: the CRC no longer matches
    const unreadable = /^test\.png: (not a JPEG, PNG, WebP or other image file sharp reads|the image data is truncated or corrupt)$/;
    const cases: [Uint8Array, string, RegExp, string][] = [
      [Uint8Array.from([1, 2, 3]), 'image-unreadable', unreadable, 'no signature'],
      [flipped, 'image-unreadable', unreadable, 'bad CRC'],
      [good.subarray(0, good.length - 20), 'image-unreadable', unreadable, 'cut off'],
      [png(2, 2, 8, 2, new Uint8Array(5)), 'image-unreadable', unreadable, 'too little image data'],
      [png(3, 1, 8, 2, Uint8Array.from([7, 0, 0, 0, 0, 0, 0, 0, 0, 0])), 'image-unreadable', unreadable, 'filter type 7'],
      [png(100_000, 100_000, 8, 0, new Uint8Array(1)), 'image-too-large', /has more than \d+ pixels/, 'huge header'],
      [png(1, 1, 3, 2, Uint8Array.from([0, 0, 0, 0])), 'image-unreadable', unreadable, 'bit depth 3'],
      [png(1, 1, 8, 3, Uint8Array.from([0, 0])), 'image-unreadable', unreadable, 'palette without PLTE'],
    ];
    for (const [bytes, code, message, why] of cases) {
      await expect(decodePng(bytes), why).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    }
  });

  it('decodeImageBytes decodes only what the header sizes when the data runs on (no unbounded output)', async () => {
    const img = await decodePng(png(4, 4, 8, 0, new Uint8Array(1_000_000)));
    expect(img).toMatchObject({ width: 4, height: 4, channels: 1 });
    expect(img.data).toHaveLength(16);
  });
});
