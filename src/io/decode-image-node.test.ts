import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FIXTURE_IMAGES, fixtureManifest, pillowDecoded, pillowInput } from '../../tests/helpers/image-folder';
import { crc32 } from './crc32';
import { decodeImageBytes } from './decode-image-node';
import { encodePng } from './png';
import { MAX_IMAGE_PIXELS, preprocessImage, resolvePreprocess } from './preprocess';
import type { VitConfig } from '../model/config';

const manifest = fixtureManifest();
const read = (file: string) => new Uint8Array(readFileSync(join(FIXTURE_IMAGES, file)));

/** Pillow's convert('RGB') of a decoded image: grey repeated, alpha dropped. */
function asRgb(image: { width: number; height: number; channels: number; data: Uint8Array | Uint8ClampedArray }): Uint8Array {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = image.data[i * image.channels + (image.channels <= 2 ? 0 : c)];
  return out;
}

describe('decodeImageBytes', () => {
  it.each(manifest.images.map((im) => [im.file, im] as const))(
    'decodeImageBytes reads %s pixel for pixel as Pillow does (no EXIF rotation, CMYK and grey to RGB)',
    async (file, im) => {
      const image = await decodeImageBytes(read(file), file);
      expect([image.width, image.height]).toEqual([im.width, im.height]);
      expect(image.channels).toBe({ L: 1, RGB: 3, CMYK: 3, P: 4, RGBA: 4 }[im.mode]);
      expect(Buffer.from(asRgb(image)).equals(Buffer.from(pillowDecoded(file)))).toBe(true);
    },
  );

  it("decodeImageBytes then preprocessImage gives exactly Pillow's pixels after timm's bicubic resize and centre crop", async () => {
    const config = {
      image_size: 32,
      num_channels: 3,
      num_hidden_layers: 1,
      hidden_size: 64,
      num_attention_heads: 1,
      intermediate_size: 64,
      patch_size: 8,
      layer_norm_eps: 1e-6,
      id2label: { 0: 'a' },
      distilled: false,
    } as VitConfig;
    const spec = resolvePreprocess({
      config,
      layout: 'timm',
      configJson: { pretrained_cfg: { crop_pct: 0.9, interpolation: 'bicubic', mean: [0, 0, 0], std: [1, 1, 1] } },
    });
    for (const im of manifest.images) {
      const { pixels, steps } = preprocessImage(await decodeImageBytes(read(im.file), im.file), spec);
      expect(steps.find((s) => s.op === 'resize')).toMatchObject({ width: im.resized[0], height: im.resized[1] });
      expect(steps.find((s) => s.op === 'crop')).toMatchObject({ left: im.crop[0], top: im.crop[1] });
      const want = pillowInput(im.file);
      let worst = 0;
      pixels.forEach((v, i) => (worst = Math.max(worst, Math.abs(Math.round(v * 255) - want[i]))));
      expect(worst, im.file).toBe(0);
    }
  });

  it('decodeImageBytes keeps a greyscale PNG as one channel (the Fashion-MNIST path)', async () => {
    const grey = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 7) % 256);
    const image = await decodeImageBytes(encodePng(grey, 28, 28, 1, (r) => deflateSync(r)));
    expect(image).toMatchObject({ width: 28, height: 28, channels: 1 });
    expect(Array.from(image.data)).toEqual(Array.from(grey));
  });

  it('decodeImageBytes refuses empty, truncated and non-image bytes as image-unreadable, saying which', async () => {
    await expect(decodeImageBytes(new Uint8Array(0), 'e.jpg')).rejects.toMatchObject({ code: 'image-unreadable', message: 'e.jpg: the file is empty' });
    const jpeg = read('cat/a-rgb.jpg');
    await expect(decodeImageBytes(jpeg.subarray(0, jpeg.length >> 1), 't.jpg')).rejects.toMatchObject({
      code: 'image-unreadable',
      message: 't.jpg: the image data is truncated or corrupt',
    });
    await expect(decodeImageBytes(new TextEncoder().encode('hello'), 'n.png')).rejects.toMatchObject({ code: 'image-unreadable' });
  });

  it('decodeImageBytes refuses an image over MAX_IMAGE_PIXELS from its header, before decoding', async () => {
    const side = Math.ceil(Math.sqrt(MAX_IMAGE_PIXELS)) + 1;
    // A valid PNG header announcing side × side pixels, with a one-row body: nothing is decoded.
    const small = encodePng(new Uint8Array(1), 1, 1, 1, (r) => deflateSync(r));
    const view = new DataView(small.buffer, small.byteOffset);
    view.setUint32(16, side);
    view.setUint32(20, side);
    view.setUint32(29, crc32(small.subarray(12, 29))); // IHDR's CRC over its type and data
    await expect(decodeImageBytes(small, 'huge.png')).rejects.toMatchObject({
      code: 'image-too-large',
      message: expect.stringMatching(/^huge\.png: image of \d+×\d+ has more than/),
    });
  });
});
