/**
 * Labelled greyscale images as u8 pixels, and their conversion to the normalised float batches the
 * model reads ([B, S, S, 1], (pixel / 255 − mean) / std). Pure; shared by training, evaluation,
 * the bundled eval set and the browser.
 */

/** `count` square greyscale images with one label each. */
export interface GreyImages {
  count: number;
  /** Side length in pixels. */
  size: number;
  /** [count, size, size] u8, row-major. */
  images: Uint8Array;
  /** [count] class indices. */
  labels: Uint8Array;
}

/** Normalised value of every u8 pixel value: (v / 255 − mean) / std. */
export function pixelTable(mean: number, std: number): Float32Array {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = (v / 255 - mean) / std;
  return lut;
}

/** A batch ready for the model: pixels [count, size, size, 1] normalised, and the labels. */
export interface LabelledBatch {
  /** Index of the first image in the set. */
  start: number;
  count: number;
  pixels: Float32Array;
  /** Class indices (16-bit: an ImageNet model has 1,000 classes). */
  labels: Uint8Array | Uint16Array;
}

export interface BatchOptions {
  batchSize: number;
  mean: number;
  std: number;
  /** Use only the first `limit` images. */
  limit?: number;
}

/** The set in order, `batchSize` images at a time (the last batch may be smaller). */
export function* greyBatches(set: GreyImages, { batchSize, mean, std, limit }: BatchOptions): Generator<LabelledBatch> {
  const n = Math.min(set.count, limit ?? set.count);
  const px = set.size * set.size;
  const lut = pixelTable(mean, std);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const pixels = new Float32Array(count * px);
    const src = set.images.subarray(start * px, (start + count) * px);
    for (let i = 0; i < src.length; i++) pixels[i] = lut[src[i]];
    yield { start, count, pixels, labels: set.labels.subarray(start, start + count) };
  }
}
