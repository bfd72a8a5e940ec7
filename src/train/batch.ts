/**
 * Turns u8 greyscale images into a normalised float batch [B, S, S, 1], with the light
 * augmentation used in training: a random shift of up to `maxShift` pixels on each axis (the
 * uncovered border is black, i.e. pixel value 0) and a horizontal flip with probability 1/2.
 */
import { pixelTable } from '../io/grey-images';
import type { Rng } from './rng';

export interface BatchSpec {
  /** Images [count, size, size] u8, row-major. */
  images: Uint8Array;
  size: number;
  mean: number;
  std: number;
}

export interface Augment {
  rng: Rng;
  maxShift: number;
  flip: boolean;
}

/** Normalised pixels for images `indices` (row-major [B, S, S], channel last of size 1). */
export function makeBatch(spec: BatchSpec, indices: ArrayLike<number>, augment?: Augment): Float32Array {
  const { images, size, mean, std } = spec;
  const px = size * size;
  const out = new Float32Array(indices.length * px);
  const lut = pixelTable(mean, std);
  const black = lut[0];
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * px;
    const dst = b * px;
    let dx = 0;
    let dy = 0;
    let flip = false;
    if (augment) {
      // Draw order is part of the format of a run: shift x, shift y, flip.
      dx = augment.rng.int(2 * augment.maxShift + 1) - augment.maxShift;
      dy = augment.rng.int(2 * augment.maxShift + 1) - augment.maxShift;
      flip = augment.flip && augment.rng.next() < 0.5;
    }
    for (let y = 0; y < size; y++) {
      const sy = y - dy;
      for (let x = 0; x < size; x++) {
        const xx = flip ? size - 1 - x : x;
        const sx = xx - dx;
        out[dst + y * size + x] = sy >= 0 && sy < size && sx >= 0 && sx < size ? lut[images[src + sy * size + sx]] : black;
      }
    }
  }
  return out;
}
