import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sniffImage } from './sniff';

const file = (path: string) => new Uint8Array(readFileSync(path));

describe('sniffImage', () => {
  it('sniffImage reads the size of the bundled PNG and JPEG samples', () => {
    expect(sniffImage(file('public/images/fmnist/test-0000-ankle-boot.png'))).toEqual({ format: 'png', width: 28, height: 28 });
    expect(sniffImage(file('public/images/chelsea.jpg'))).toEqual({ format: 'jpeg', width: 337, height: 224 });
    expect(sniffImage(file('public/images/grace_hopper.jpg'))).toEqual({ format: 'jpeg', width: 224, height: 263 });
  });

  it('sniffImage reads GIF, BMP and the three WebP headers', () => {
    const gif = new Uint8Array([...'GIF89a'].map((c) => c.charCodeAt(0)).concat([0x10, 0x27, 0x20, 0x00]));
    expect(sniffImage(gif)).toEqual({ format: 'gif', width: 10000, height: 32 });
    const bmp = new Uint8Array(26);
    bmp.set([0x42, 0x4d]);
    new DataView(bmp.buffer).setInt32(18, 640, true);
    new DataView(bmp.buffer).setInt32(22, -480, true); // top-down
    expect(sniffImage(bmp)).toEqual({ format: 'bmp', width: 640, height: 480 });
    const webp = (kind: string, fill: (b: Uint8Array) => void) => {
      const b = new Uint8Array(32);
      b.set(
        [...'RIFF'].map((c) => c.charCodeAt(0)),
        0,
      );
      b.set(
        [...`WEBP${kind}`].map((c) => c.charCodeAt(0)),
        8,
      );
      fill(b);
      return sniffImage(b);
    };
    expect(webp('VP8 ', (b) => b.set([0x80, 0x02, 0xe0, 0x01], 26))).toEqual({ format: 'webp', width: 640, height: 480 });
    expect(webp('VP8X', (b) => b.set([0x7f, 0x02, 0x00, 0xdf, 0x01, 0x00], 24))).toEqual({ format: 'webp', width: 640, height: 480 });
    // VP8L: 14 bits width-1, 14 bits height-1, little-endian from byte 21
    const bits = 639 | (479 << 14);
    expect(webp('VP8L', (b) => new DataView(b.buffer).setUint32(21, bits, true))).toEqual({ format: 'webp', width: 640, height: 480 });
  });

  it('sniffImage returns null for text, empty and truncated input', () => {
    expect(sniffImage(new TextEncoder().encode('hello, this is not an image at all'))).toBeNull();
    expect(sniffImage(new Uint8Array(0))).toBeNull();
    expect(sniffImage(file('public/images/chelsea.jpg').subarray(0, 6))).toBeNull();
  });
});
