/**
 * Browser decoding of an uploaded, dropped or pasted file into a small RGBA picture, with limits
 * checked before decoding where the header allows. Errors are TokenScopeErrors with
 * 'image-unreadable' or 'image-too-large' and a message that says what to do.
 */
import { TokenScopeError } from '../../errors';
import type { RgbaImage } from './preprocess';
import { sniffImage, type ImageFormat } from './sniff';

export const IMAGE_LIMITS = {
  /** File size. */
  maxBytes: 25 * 1024 * 1024,
  /** Pixels per side and in total, read from the header (or after decoding for other formats). */
  maxSide: 10_000,
  maxPixels: 50_000_000,
  /** Decoded pictures are scaled down by the browser to at most this many pixels per side. */
  workingSide: 512,
};

export interface DecodedImage {
  name: string;
  format: ImageFormat | 'other';
  /** Size of the picture as stored. */
  width: number;
  height: number;
  /** The picture the preprocessing starts from (scaled down to at most workingSide). */
  rgba: RgbaImage;
  /** What the browser did before the model's preprocessing, in words; null if nothing. */
  browserStep: string | null;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function checkSize(name: string, width: number, height: number): void {
  const { maxSide, maxPixels } = IMAGE_LIMITS;
  if (width > maxSide || height > maxSide || width * height > maxPixels) {
    throw new TokenScopeError(
      'image-too-large',
      `${name} is ${width}×${height} pixels; the limit is ${maxSide.toLocaleString('en')} pixels per side and ${maxPixels / 1e6} megapixels. Scale it down and try again.`,
      { width, height },
    );
  }
}

function canvas2d(width: number, height: number): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D {
  if (typeof OffscreenCanvas !== 'undefined') {
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (ctx) return ctx;
  }
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new TokenScopeError('internal', 'this browser gave no 2-D canvas to read pixels with');
  return ctx;
}

/** Decodes `file` (any Blob; `name` for messages). */
export async function decodeImageFile(file: Blob, name = (file as File).name ?? 'the file'): Promise<DecodedImage> {
  if (file.size === 0) throw new TokenScopeError('image-unreadable', `${name} is empty (0 bytes); choose an image file.`);
  if (file.size > IMAGE_LIMITS.maxBytes) {
    throw new TokenScopeError('image-too-large', `${name} is ${mb(file.size)}; the limit is ${mb(IMAGE_LIMITS.maxBytes)}. Use a smaller image.`);
  }
  const head = new Uint8Array(await file.slice(0, 512 * 1024).arrayBuffer());
  const header = sniffImage(head);
  if (!header && file.type && !file.type.startsWith('image/')) {
    throw new TokenScopeError('image-unreadable', `${name} (${file.type}) is not an image. Choose a PNG, JPEG, GIF, WebP or BMP file.`);
  }
  if (header) checkSize(name, header.width, header.height);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new TokenScopeError(
      'image-unreadable',
      `${name} could not be decoded as an image${header ? ` (it looks like a ${header.format.toUpperCase()} file, possibly damaged)` : ''}. Choose a PNG, JPEG, GIF, WebP or BMP file.`,
    );
  }
  try {
    const { width, height } = bitmap;
    checkSize(name, width, height);
    const scale = Math.min(1, IMAGE_LIMITS.workingSide / Math.max(width, height));
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const ctx = canvas2d(w, h);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, w, h);
    const data = ctx.getImageData(0, 0, w, h).data;
    return {
      name,
      format: header?.format ?? 'other',
      width,
      height,
      rgba: { width: w, height: h, data },
      browserStep: scale < 1 ? `decoded ${width}×${height} and scaled to ${w}×${h} by the browser (high-quality smoothing)` : null,
    };
  } finally {
    bitmap.close();
  }
}

/** An 8-bit greyscale square (e.g. from the bundled eval set) as an RGBA picture. */
export function greyToRgba(u8: Uint8Array, side: number): RgbaImage {
  const data = new Uint8ClampedArray(side * side * 4);
  for (let i = 0; i < side * side; i++) data.set([u8[i], u8[i], u8[i], 255], 4 * i);
  return { width: side, height: side, data };
}
