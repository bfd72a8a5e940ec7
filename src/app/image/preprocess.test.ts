import { describe, expect, it } from 'vitest';
import { borderMean, fromRgba, normalise, padToSquare, preprocess, resizeArea, type InputSpec, type Plane, type RgbaImage } from './preprocess';

const GREY: InputSpec = { size: 28, channels: 1, mean: [0.286], std: [0.353], invertLightBackground: true };

function rgba(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), 4 * (y * width + x));
  return { width, height, data };
}

const plane = (width: number, height: number, values: number[]): Plane => ({ width, height, channels: 1, data: Float32Array.from(values) });

describe('fromRgba', () => {
  it('fromRgba weighs red, green and blue by the BT.601 luma coefficients', () => {
    const p = fromRgba(rgba(3, 1, (x) => (x === 0 ? [255, 0, 0, 255] : x === 1 ? [0, 255, 0, 255] : [0, 0, 255, 255])), 1);
    expect(Array.from(p.data)).toEqual([0.299 * 255, 0.587 * 255, 0.114 * 255].map((v) => Math.fround(v)));
  });

  it('fromRgba composites transparent pixels over white', () => {
    const p = fromRgba(rgba(2, 1, (x) => (x === 0 ? [0, 0, 0, 0] : [0, 0, 0, 128])), 1);
    expect(p.data[0]).toBeCloseTo(255, 3);
    expect(p.data[1]).toBeCloseTo(255 * (1 - 128 / 255), 3);
  });
});

describe('borderMean', () => {
  it('borderMean averages the outer ring only', () => {
    // 3×3, centre 255, ring 0 (ring width is 1 px for small images)
    expect(borderMean(plane(3, 3, [0, 0, 0, 0, 255, 0, 0, 0, 0]))).toEqual([0]);
  });
});

describe('padToSquare', () => {
  it('padToSquare centres a wide image and fills with the given value', () => {
    const p = padToSquare(plane(3, 1, [1, 2, 3]), [9]);
    expect([p.width, p.height]).toEqual([3, 3]);
    expect(Array.from(p.data)).toEqual([9, 9, 9, 1, 2, 3, 9, 9, 9]);
  });

  it('padToSquare puts the odd padding pixel after the image', () => {
    const p = padToSquare(plane(1, 2, [1, 2]), [0]);
    expect(Array.from(p.data)).toEqual([1, 0, 2, 0]);
  });
});

describe('resizeArea', () => {
  it('resizeArea averages 2×2 blocks when halving', () => {
    const p = resizeArea(plane(4, 2, [0, 4, 8, 8, 4, 0, 0, 0]), 2, 1);
    expect(Array.from(p.data)).toEqual([2, 4]);
  });

  it('resizeArea weighs fractional overlaps exactly (3 → 2)', () => {
    // output 0 covers source [0, 1.5): (1·a + 0.5·b) / 1.5
    const p = resizeArea(plane(3, 1, [3, 6, 9]), 2, 1);
    expect(p.data[0]).toBeCloseTo((3 + 0.5 * 6) / 1.5, 5);
    expect(p.data[1]).toBeCloseTo((0.5 * 6 + 9) / 1.5, 5);
  });

  it('resizeArea keeps a constant image constant, shrinking or growing', () => {
    const flat = plane(5, 5, Array(25).fill(77));
    for (const side of [2, 3, 28]) expect(new Set(resizeArea(flat, side, side).data.map((v) => Math.round(v * 1000) / 1000))).toEqual(new Set([77]));
  });
});

describe('preprocess', () => {
  it('preprocess leaves a 28×28 dark-background greyscale image as it is, then normalises', () => {
    const img = rgba(28, 28, (x, y) => (x > 8 && x < 20 && y > 8 && y < 20 ? [200, 200, 200, 255] : [0, 0, 0, 255]));
    const out = preprocess(img, GREY);
    expect(out.steps.filter((s) => s.ran).map((s) => s.id)).toEqual(['greyscale', 'quantise', 'normalise']);
    expect(out.u8[0]).toBe(0);
    expect(out.u8[10 * 28 + 10]).toBe(200);
    expect(out.pixels[0]).toBeCloseTo((0 - 0.286) / 0.353, 6);
    expect(out.pixels[10 * 28 + 10]).toBeCloseTo((200 / 255 - 0.286) / 0.353, 6);
  });

  it('preprocess pads, inverts a light background and resizes a wide photo-like image', () => {
    // 112×56 white image with a black 28×28 square in the middle
    const img = rgba(112, 56, (x, y) => (x >= 42 && x < 70 && y >= 14 && y < 42 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const out = preprocess(img, GREY);
    expect(out.steps.filter((s) => s.ran).map((s) => s.id)).toEqual(['greyscale', 'pad', 'invert', 'resize', 'quantise', 'normalise']);
    expect(out.steps.find((s) => s.id === 'invert')!.detail).toMatch(/background is light/);
    // padded to 112×112 with white, inverted to black; the square becomes white 7×7 in the middle
    expect(out.u8[0]).toBe(0);
    expect(out.u8[14 * 28 + 14]).toBe(255);
    expect(out.u8[14 * 28 + 6]).toBe(0);
  });

  it('preprocess keeps RGB for a 3-channel model and never inverts it', () => {
    const spec: InputSpec = { size: 2, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], invertLightBackground: false };
    const out = preprocess(rgba(2, 2, () => [255, 0, 0, 255]), spec);
    expect(Array.from(out.u8.subarray(0, 3))).toEqual([255, 0, 0]);
    expect(Array.from(out.pixels.subarray(0, 3))).toEqual([1, -1, -1]);
    expect(out.steps.find((s) => s.id === 'invert')!.ran).toBe(false);
  });

  it('normalise matches the normalisation step of preprocess', () => {
    const out = preprocess(rgba(30, 20, (x, y) => [x * 8, y * 12, 100, 255]), GREY);
    expect(Array.from(normalise(out.u8, GREY))).toEqual(Array.from(out.pixels));
  });
});
