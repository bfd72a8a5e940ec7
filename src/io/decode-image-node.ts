/**
 * Decoding image files in Node (the CLI and tests; browsers use createImageBitmap) with sharp
 * (libvips: libjpeg-turbo/mozjpeg, libpng, libwebp), read the way timm and Hugging Face read
 * them through Pillow: `Image.open(f).convert('RGB')`.
 *
 *   - no EXIF rotation (Pillow does not apply the orientation tag unless asked);
 *   - embedded ICC profiles ignored (Pillow does not colour-manage);
 *   - CMYK JPEGs converted with Pillow's formula, R = (255 − C)(255 − K)/255, not through a CMYK
 *     profile (libvips's default), which would give different colours;
 *   - greyscale stays one channel (preprocess.ts repeats it, which equals Pillow's L → RGB), and
 *     an alpha channel is kept for preprocess.ts to drop (Pillow's RGBA → RGB drops it too);
 *   - 16-bit images are read at 8 bits.
 * Checked against Pillow 9.4 on tests/fixtures/image-folder (JPEG, PNG, WebP; RGB, grey, CMYK,
 * palette, RGBA): every pixel equal.
 *
 * Failures are TokenScopeErrors: 'image-unreadable' (empty, truncated, not an image) or
 * 'image-too-large' (over MAX_IMAGE_PIXELS, refused from the header before decoding). Their
 * messages are fixed texts, not libvips's, whose error buffer reads differently from a worker
 * thread: a results file must not depend on where an image was decoded.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { TokenScopeError } from '../errors';
import { MAX_IMAGE_PIXELS, type RawImage } from './preprocess';

// One decode at a time per thread (parallelism comes from worker threads), and no cache of
// decoded images: memory stays flat over a long run.
sharp.concurrency(1);
sharp.cache(false);

function unreadable(source: string, why: string): never {
  throw new TokenScopeError('image-unreadable', `${source}: ${why}`, { path: source });
}

/** Pillow's CMYK → RGB: each colour channel times the inverse of black, rounded. */
function cmykToRgb(data: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - data[i * 4 + 3];
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(((255 - data[i * 4 + c]) * nk) / 255);
  }
  return out;
}

/** Decodes the bytes of a JPEG, PNG, WebP (or GIF, TIFF, AVIF) file to 8-bit pixels. */
export async function decodeImageBytes(bytes: Uint8Array, source = 'image'): Promise<RawImage> {
  if (bytes.length === 0) unreadable(source, 'the file is empty');
  const options = { ignoreIcc: true, failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS } as const;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { ...options, limitInputPixels: false }).metadata(); // the header only: sized below
  } catch {
    unreadable(source, 'not a JPEG, PNG, WebP or other image file sharp reads');
  }
  const { width = 0, height = 0 } = meta;
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new TokenScopeError('image-too-large', `${source}: image of ${width}×${height} has more than ${MAX_IMAGE_PIXELS} pixels; downscale it first`, {
      path: source,
    });
  }
  const cmyk = meta.space === 'cmyk';
  let pipeline = sharp(bytes, options);
  if (cmyk) pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
  else if (meta.space === 'b-w' || meta.space === 'grey16') pipeline = pipeline.toColourspace('b-w');
  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch {
    unreadable(source, 'the image data is truncated or corrupt');
  }
  const pixels = info.width * info.height;
  const u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (cmyk) {
    if (info.channels !== 4) unreadable(source, `a CMYK image decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, channels: 3, data: cmykToRgb(u8, pixels) };
  }
  return { width: info.width, height: info.height, channels: info.channels, data: u8 };
}
