/**
 * A PNG decoder for the Node side (the CLI and tests; browsers decode with createImageBitmap).
 * Pure: the caller supplies zlib inflation with an output cap (`inflateSync(data,
 * { maxOutputLength })` in Node), so this file has no platform imports. png.ts is the encoder.
 *
 * Reads every standard PNG: greyscale, RGB, palette (with tRNS transparency), grey + alpha and
 * RGBA; bit depths 1, 2, 4, 8 and 16 (16-bit samples keep their high byte); all five row filters;
 * Adam7 interlacing. Chunk CRCs are checked, sizes are capped before inflating, and every failure
 * is a TokenScopeError: 'image-unreadable', or 'image-too-large' past MAX_IMAGE_PIXELS.
 */
import { TokenScopeError } from '../errors';
import { crc32 } from './crc32';
import { MAX_IMAGE_PIXELS, type RawImage } from './preprocess';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Inflates zlib data, producing at most `maxOutputBytes` (throwing beyond). */
export type ZlibInflate = (data: Uint8Array, maxOutputBytes: number) => Uint8Array;

function unreadable(message: string): never {
  throw new TokenScopeError('image-unreadable', `PNG: ${message}`);
}

/** Channels per colour type: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** Adam7 passes: start x, start y, step x, step y. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes the row filters of one (sub-)image in place; returns the filtered-free rows. */
function unfilter(raw: Uint8Array, at: number, rowBytes: number, rows: number, bpp: number): Uint8Array {
  const out = new Uint8Array(rowBytes * rows);
  for (let y = 0; y < rows; y++) {
    const type = raw[at + y * (rowBytes + 1)];
    const src = at + y * (rowBytes + 1) + 1;
    const row = y * rowBytes;
    const prev = row - rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const x = raw[src + i];
      const a = i >= bpp ? out[row + i - bpp] : 0;
      const b = y > 0 ? out[prev + i] : 0;
      const c = y > 0 && i >= bpp ? out[prev + i - bpp] : 0;
      switch (type) {
        case 0: out[row + i] = x; break;
        case 1: out[row + i] = x + a; break;
        case 2: out[row + i] = x + b; break;
        case 3: out[row + i] = x + ((a + b) >> 1); break;
        case 4: out[row + i] = x + paeth(a, b, c); break;
        default: unreadable(`row ${y} has filter type ${type}; valid types are 0 to 4`);
      }
    }
  }
  return out;
}

/** Sample `i` of a row at `depth` bits, scaled to 8 bits (palette indices unscaled). */
function sample(row: Uint8Array, offset: number, i: number, depth: number, scale: boolean): number {
  if (depth === 8) return row[offset + i];
  if (depth === 16) return row[offset + 2 * i];
  const perByte = 8 / depth;
  const byte = row[offset + Math.floor(i / perByte)];
  const shift = 8 - depth * ((i % perByte) + 1);
  const v = (byte >> shift) & ((1 << depth) - 1);
  return scale ? Math.round((v * 255) / ((1 << depth) - 1)) : v;
}

/** Decodes a PNG file to 8-bit pixels: grey (1), grey + alpha (2), RGB (3) or RGBA (4) channels. */
export function decodePng(bytes: Uint8Array, inflate: ZlibInflate): RawImage {
  if (!isPng(bytes)) unreadable('the file does not start with the PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header: { width: number; height: number; depth: number; colour: number; interlace: number } | null = null;
  let palette: Uint8Array | null = null;
  let transparency: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (at < bytes.length && !ended) {
    if (at + 12 > bytes.length) unreadable(`chunk at byte ${at} is cut off; the file is truncated`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (length > bytes.length - at - 12) unreadable(`chunk ${JSON.stringify(type)} claims ${length} bytes, past the end of the file`);
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (view.getUint32(at + 8 + length) !== crc32(bytes.subarray(at + 4, at + 8 + length))) unreadable(`chunk ${JSON.stringify(type)} fails its CRC check; the file is damaged`);
    at += 12 + length;
    if (!header && type !== 'IHDR') unreadable('the first chunk must be IHDR');
    switch (type) {
      case 'IHDR': {
        if (header) unreadable('more than one IHDR chunk');
        if (length !== 13) unreadable(`IHDR is ${length} bytes, expected 13`);
        const h = new DataView(data.buffer, data.byteOffset, 13);
        const [width, height, depth, colour, compression, filter, interlace] = [h.getUint32(0), h.getUint32(4), data[8], data[9], data[10], data[11], data[12]];
        if (width === 0 || height === 0) unreadable(`image of ${width}×${height} has no pixels`);
        if (!(colour in CHANNELS) || !DEPTHS[colour].includes(depth)) unreadable(`colour type ${colour} with bit depth ${depth} is not valid PNG`);
        if (compression !== 0 || filter !== 0 || interlace > 1) unreadable('unknown compression, filter or interlace method');
        if (width * height > MAX_IMAGE_PIXELS) {
          throw new TokenScopeError('image-too-large', `PNG of ${width}×${height} has more than ${MAX_IMAGE_PIXELS} pixels; downscale it first`);
        }
        header = { width, height, depth, colour, interlace };
        break;
      }
      case 'PLTE':
        if (length % 3 !== 0 || length === 0 || length > 768) unreadable(`palette of ${length} bytes is not 1 to 256 RGB entries`);
        palette = data;
        break;
      case 'tRNS':
        transparency = data;
        break;
      case 'IDAT':
        idat.push(data);
        break;
      case 'IEND':
        ended = true;
        break;
      default:
        if ((type.charCodeAt(0) & 0x20) === 0) unreadable(`unknown critical chunk ${JSON.stringify(type)}`); // ancillary chunks are skipped
    }
  }
  if (!header) unreadable('no IHDR chunk');
  if (idat.length === 0) unreadable('no image data (IDAT)');
  const { width, height, depth, colour, interlace } = header;
  if (colour === 3 && !palette) unreadable('palette image without a PLTE chunk');

  const channels = CHANNELS[colour];
  const bitsPerPixel = channels * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const passes = interlace ? ADAM7 : [[0, 0, 1, 1]];
  const sizes = passes.map(([x0, y0, dx, dy]) => {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    return { w: Math.max(0, w), h: Math.max(0, h), rowBytes: Math.ceil((Math.max(0, w) * bitsPerPixel) / 8) };
  });
  const expected = sizes.reduce((s, p) => s + (p.w > 0 && p.h > 0 ? p.h * (p.rowBytes + 1) : 0), 0);

  const joined = new Uint8Array(idat.reduce((s, d) => s + d.length, 0));
  let o = 0;
  for (const d of idat) {
    joined.set(d, o);
    o += d.length;
  }
  let raw: Uint8Array;
  try {
    raw = inflate(joined, expected);
  } catch (e) {
    unreadable(`image data does not inflate (${e instanceof Error ? e.message : String(e)}); the file is damaged`);
  }
  if (raw.length < expected) unreadable(`image data holds ${raw.length} bytes, expected ${expected}; the file is truncated`);

  const outChannels = colour === 3 ? (transparency ? 4 : 3) : channels;
  const out = new Uint8Array(width * height * outChannels);
  let offset = 0;
  passes.forEach(([x0, y0, dx, dy], p) => {
    const { w, h, rowBytes } = sizes[p];
    if (w === 0 || h === 0) return;
    const rows = unfilter(raw, offset, rowBytes, h, bpp);
    offset += h * (rowBytes + 1);
    for (let y = 0; y < h; y++) {
      const rowAt = y * rowBytes;
      for (let x = 0; x < w; x++) {
        const dst = ((y0 + y * dy) * width + (x0 + x * dx)) * outChannels;
        if (colour === 3) {
          const index = sample(rows, rowAt, x, depth, false);
          if (index * 3 + 2 >= palette!.length) unreadable(`pixel uses palette entry ${index}, but the palette has ${palette!.length / 3}`);
          out[dst] = palette![index * 3];
          out[dst + 1] = palette![index * 3 + 1];
          out[dst + 2] = palette![index * 3 + 2];
          if (transparency) out[dst + 3] = index < transparency.length ? transparency[index] : 255;
        } else {
          for (let c = 0; c < channels; c++) out[dst + c] = sample(rows, rowAt, x * channels + c, depth, true);
        }
      }
    }
  });
  return { width, height, channels: outChannels, data: out };
}
