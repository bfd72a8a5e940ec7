import { describe, expect, it } from 'vitest';
import { makeBatch } from './batch';
import type { Rng } from './rng';

/** An Rng that returns the given uniforms in order. */
function scripted(values: number[]): Rng {
  let i = 0;
  const next = () => values[i++];
  return { next, int: (n) => Math.floor(next() * n) };
}

// One 4×4 image: pixel value = 10·row + col + 1 (so 0 never appears inside the image).
const size = 4;
const images = Uint8Array.from({ length: 16 }, (_, k) => 10 * Math.floor(k / 4) + (k % 4) + 1);
const spec = { images, size, mean: 0, std: 1 / 255 }; // normalised value = raw pixel value
const grid = (a: Float32Array) => Array.from({ length: size }, (_, y) => Array.from(a.subarray(y * size, (y + 1) * size)).map(Math.round));

describe('makeBatch', () => {
  it('makeBatch without augmentation normalises each pixel as (v / 255 − mean) / std', () => {
    const out = makeBatch({ images, size, mean: 0.5, std: 0.25 }, [0]);
    expect(out[0]).toBeCloseTo((1 / 255 - 0.5) / 0.25, 6);
    expect(out[15]).toBeCloseTo((34 / 255 - 0.5) / 0.25, 6);
  });

  it('makeBatch shifts right and down by the drawn amounts and fills the border with black', () => {
    // maxShift 1: int(3) of 0.99 -> 2 -> dx = +1; int(3) of 0.5 -> 1 -> dy = 0; flip draw 0.9 -> no flip
    const out = makeBatch(spec, [0], { rng: scripted([0.99, 0.5, 0.9]), maxShift: 1, flip: true });
    expect(grid(out)).toEqual([
      [0, 1, 2, 3],
      [0, 11, 12, 13],
      [0, 21, 22, 23],
      [0, 31, 32, 33],
    ]);
  });

  it('makeBatch shifts up by a negative dy and mirrors columns when the flip draw is below 1/2', () => {
    // dx = 0 (int(3) of 0.5 = 1), dy = −1 (int(3) of 0.1 = 0), flip (0.2 < 0.5)
    const out = makeBatch(spec, [0], { rng: scripted([0.5, 0.1, 0.2]), maxShift: 1, flip: true });
    expect(grid(out)).toEqual([
      [14, 13, 12, 11],
      [24, 23, 22, 21],
      [34, 33, 32, 31],
      [0, 0, 0, 0],
    ]);
  });
});
