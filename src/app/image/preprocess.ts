/**
 * From a decoded picture to the model's input, with pure arithmetic (no DOM), so the same steps
 * run in tests. For the bundled greyscale Fashion-MNIST model the steps are:
 *
 *   1. greyscale      BT.601 luma 0.299 R + 0.587 G + 0.114 B, transparent pixels over white
 *   2. pad to square  the shorter side is padded equally on both sides with the border's mean
 *                     value, so padding adds no edges
 *   3. invert         255 − v when the border is light (mean > 127.5): Fashion-MNIST objects are
 *                     light on black
 *   4. resize         to S×S by area averaging (each output pixel is the mean of the source area
 *                     it covers; exact fractional overlaps)
 *   5. quantise       round to 8 bits, like the training images
 *   6. normalise      (v / 255 − mean) / std with the config's image_mean and image_std
 *
 * An RGB model skips 1 and 3. Every step reports whether it ran and what it did.
 */

/** An RGBA picture, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** What the model expects (from its config). */
export interface InputSpec {
  size: number;
  channels: number;
  mean: number[];
  std: number[];
  /** Invert greyscale images whose background is light (the Fashion-MNIST convention). */
  invertLightBackground: boolean;
}

export type StepId = 'greyscale' | 'pad' | 'invert' | 'resize' | 'quantise' | 'normalise';

export interface PreprocessStep {
  id: StepId;
  ran: boolean;
  /** One line saying what happened. */
  detail: string;
}

export interface ModelInput {
  size: number;
  channels: number;
  /** [S, S, C] 8-bit values: what the model sees before normalisation. */
  u8: Uint8Array;
  /** [S, S, C] normalised floats: what the model reads. */
  pixels: Float32Array;
  steps: PreprocessStep[];
}

/** A float image: [height, width, channels] row-major, values 0..255. */
export interface Plane {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** RGBA → 1 (luma) or 3 (RGB) channels, compositing transparency over white. */
export function fromRgba(img: RgbaImage, channels: 1 | 3): Plane {
  const n = img.width * img.height;
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const a = img.data[4 * i + 3] / 255;
    const over = (v: number) => v * a + 255 * (1 - a);
    const r = over(img.data[4 * i]);
    const g = over(img.data[4 * i + 1]);
    const b = over(img.data[4 * i + 2]);
    if (channels === 1) out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else out.set([r, g, b], 3 * i);
  }
  return { width: img.width, height: img.height, channels, data: out };
}

/** Mean of each channel over the outer ring of pixels (about 4% of the shorter side, at least 1 px). */
export function borderMean(p: Plane): number[] {
  const ring = Math.max(1, Math.round(0.04 * Math.min(p.width, p.height)));
  const sums = new Array<number>(p.channels).fill(0);
  let count = 0;
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < p.width; x++) {
      if (x >= ring && x < p.width - ring && y >= ring && y < p.height - ring) continue;
      const at = (y * p.width + x) * p.channels;
      for (let c = 0; c < p.channels; c++) sums[c] += p.data[at + c];
      count++;
    }
  }
  return sums.map((s) => s / count);
}

/** Pads the shorter side equally (the odd pixel goes after) with `fill`; a square is returned as is. */
export function padToSquare(p: Plane, fill: number[]): Plane {
  const side = Math.max(p.width, p.height);
  if (p.width === p.height) return p;
  const left = Math.floor((side - p.width) / 2);
  const top = Math.floor((side - p.height) / 2);
  const out = new Float32Array(side * side * p.channels);
  for (let i = 0; i < side * side; i++) out.set(fill, i * p.channels);
  for (let y = 0; y < p.height; y++) {
    out.set(p.data.subarray(y * p.width * p.channels, (y + 1) * p.width * p.channels), ((y + top) * side + left) * p.channels);
  }
  return { width: side, height: side, channels: p.channels, data: out };
}

/** Weights of source pixels for each output pixel along one axis: exact overlap of the footprints. */
function areaWeights(src: number, dst: number): { from: number; weights: number[] }[] {
  const scale = src / dst;
  return Array.from({ length: dst }, (_, o) => {
    const start = o * scale;
    const end = (o + 1) * scale;
    const from = Math.floor(start);
    const weights: number[] = [];
    for (let s = from; s < end && s < src; s++) weights.push((Math.min(end, s + 1) - Math.max(start, s)) / scale);
    return { from, weights };
  });
}

/** Resizes by area averaging, separably (rows, then columns). */
export function resizeArea(p: Plane, width: number, height: number): Plane {
  if (p.width === width && p.height === height) return p;
  const C = p.channels;
  const wx = areaWeights(p.width, width);
  const wy = areaWeights(p.height, height);
  const rows = new Float32Array(p.height * width * C); // horizontal pass
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < width; x++) {
      const { from, weights } = wx[x];
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = 0; k < weights.length; k++) s += weights[k] * p.data[(y * p.width + from + k) * C + c];
        rows[(y * width + x) * C + c] = s;
      }
    }
  }
  const out = new Float32Array(width * height * C);
  for (let y = 0; y < height; y++) {
    const { from, weights } = wy[y];
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = 0; k < weights.length; k++) s += weights[k] * rows[((from + k) * width + x) * C + c];
        out[(y * width + x) * C + c] = s;
      }
    }
  }
  return { width, height, channels: C, data: out };
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const fmt = (vs: number[]) => vs.map((v) => String(Math.round(v))).join(', ');

/** Runs every step and reports each one. */
export function preprocess(img: RgbaImage, spec: InputSpec): ModelInput {
  if (spec.channels !== 1 && spec.channels !== 3) throw new Error(`models with ${spec.channels} input channels are not supported (1 or 3)`);
  if (img.width < 1 || img.height < 1) throw new Error(`an image needs at least one pixel, got ${img.width}×${img.height}`);
  const steps: PreprocessStep[] = [];
  const grey = spec.channels === 1;
  let p = fromRgba(img, grey ? 1 : 3);
  steps.push({ id: 'greyscale', ran: grey, detail: grey ? 'greyscale: BT.601 luma (0.299 R + 0.587 G + 0.114 B); transparency over white' : 'kept RGB (the model reads 3 channels)' });

  const border = borderMean(p);
  const square = p.width === p.height;
  const before = `${p.width}×${p.height}`;
  p = padToSquare(p, border);
  steps.push({
    id: 'pad',
    ran: !square,
    detail: square ? `already square (${before})` : `padded ${before} → ${p.width}×${p.height} with the border's mean value (${fmt(border)})`,
  });

  const light = grey && border[0] > 127.5;
  const invert = spec.invertLightBackground && light;
  if (invert) for (let i = 0; i < p.data.length; i++) p.data[i] = 255 - p.data[i];
  steps.push({
    id: 'invert',
    ran: invert,
    detail: !grey || !spec.invertLightBackground
      ? 'not inverted (this model takes images as they are)'
      : invert
        ? `inverted: the background is light (border mean ${round1(border[0])} of 255); the model expects a light object on black`
        : `not inverted: the background is dark (border mean ${round1(border[0])} of 255)`,
  });

  const side = p.width;
  p = resizeArea(p, spec.size, spec.size);
  steps.push({
    id: 'resize',
    ran: side !== spec.size,
    detail: side === spec.size ? `already ${spec.size}×${spec.size}` : `resized ${side}×${side} → ${spec.size}×${spec.size} by area averaging`,
  });

  const u8 = Uint8Array.from(p.data, (v) => Math.min(255, Math.max(0, Math.round(v))));
  steps.push({ id: 'quantise', ran: true, detail: 'rounded to 8-bit values (0..255), as in the training data' });

  const pixels = normalise(u8, spec);
  steps.push({
    id: 'normalise',
    ran: true,
    detail: `normalised (v / 255 − ${spec.mean.join(', ')}) / ${spec.std.join(', ')} (the config's image_mean and image_std)`,
  });
  return { size: spec.size, channels: spec.channels, u8, pixels, steps };
}

/** Normalises stored 8-bit pixels the way `preprocess` does (for links to exported inputs and tests). */
export function normalise(u8: Uint8Array, spec: Pick<InputSpec, 'channels' | 'mean' | 'std'>): Float32Array {
  return Float32Array.from(u8, (v, i) => (v / 255 - spec.mean[i % spec.channels]) / spec.std[i % spec.channels]);
}
