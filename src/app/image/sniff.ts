/**
 * Reads an image's format and pixel size from its first bytes, before anything is decoded, so an
 * enormous picture (or a small file that would decode to one) is refused without decoding it.
 * Knows PNG, JPEG, GIF, WebP and BMP; anything else returns null and is left to the browser.
 */
export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

/** Header facts, or null when the bytes are not a format we know (or are cut short). */
export function sniffImage(b: Uint8Array): ImageHeader | null {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const has = (n: number) => b.length >= n;
  if (has(24) && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG' && ascii(b, 12, 4) === 'IHDR') {
    return { format: 'png', width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (has(10) && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) {
    return { format: 'gif', width: v.getUint16(6, true), height: v.getUint16(8, true) };
  }
  if (has(26) && ascii(b, 0, 2) === 'BM') {
    return { format: 'bmp', width: Math.abs(v.getInt32(18, true)), height: Math.abs(v.getInt32(22, true)) };
  }
  if (has(30) && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') {
    const kind = ascii(b, 12, 4);
    if (kind === 'VP8 ') return { format: 'webp', width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff };
    if (kind === 'VP8L') {
      const bits = v.getUint32(21, true);
      return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    if (kind === 'VP8X') {
      const u24 = (at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
      return { format: 'webp', width: u24(24) + 1, height: u24(27) + 1 };
    }
    return null;
  }
  if (has(4) && b[0] === 0xff && b[1] === 0xd8) return jpegSize(b, v);
  return null;
}

/** Walks the JPEG marker segments to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC). */
function jpegSize(b: Uint8Array, v: DataView): ImageHeader | null {
  let at = 2;
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2; // no length
      continue;
    }
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return { format: 'jpeg', height: v.getUint16(at + 5), width: v.getUint16(at + 7) };
    at += 2 + v.getUint16(at + 2);
  }
  return null;
}
