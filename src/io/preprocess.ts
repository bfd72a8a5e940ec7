/**
 * Image preprocessing per model, as each checkpoint's own configuration says, described as data
 * so the UI can show every step.
 *
 *   resolvePreprocess   where the settings come from, first match wins:
 *                         1. preprocessor_config.json (Hugging Face image processor)
 *                         2. config.json `pretrained_cfg` (timm: input_size, interpolation, crop_pct, mean, std)
 *                         3. config.json image_mean / image_std (TokenScope's bundled model)
 *                         4. the layout's usual defaults, stated in a note
 *   planPreprocess      the concrete steps for one image (sizes and crop box worked out)
 *   preprocessImage     u8 pixels -> normalised float32 [S, S, C] (pure, no TF.js, no DOM)
 *   preprocessToTensor  the same as a [1, S, S, C] tensor; decodeImageBlob reads a browser image
 *
 * The math follows what the reference pipelines do on 8-bit images: a separable, antialiased
 * resampling filter (bicubic a = −0.5 or triangle), horizontal pass first, each pass rounded
 * back to 8 bits; the shorter side resized to floor(S / crop_pct) with the longer side truncated;
 * a centre crop whose offset is rounded half to even (timm, via torchvision) or floored (Hugging
 * Face); then /255 and (x − mean) / std. The resampling is Pillow's (Resample.c): its filter
 * formulas, its taps, and its 22-bit fixed-point weights and rounding, so resized pixels equal
 * Pillow 9.4's (tests/fixtures/image-folder, written by Pillow, checks JPEG, PNG and WebP images
 * through timm's bicubic resize and crop). An image already S×S is only normalised, never
 * resampled, so a test can check a model's output exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import type { VitConfig } from '../model/config';
import type { CheckpointLayout } from './checkpoint-names';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

export type ResizeRule =
  /** Shorter side to `size`, longer side scaled and truncated (torchvision Resize(int)). */
  | { kind: 'shorter-side'; size: number; interpolation: Interpolation }
  /** Straight to width × height, aspect ratio not kept (Hugging Face ViTImageProcessor). */
  | { kind: 'exact'; width: number; height: number; interpolation: Interpolation };

export interface PreprocessSpec {
  /** Side of the square image the model reads. */
  inputSize: number;
  /** Channels the model reads (1 grey, 3 RGB). */
  channels: number;
  resize: ResizeRule;
  /** Centre crop to inputSize × inputSize after resizing; null when the resize lands on it. */
  crop: { rounding: 'half-even' | 'floor' } | null;
  /** Per channel, applied to pixels scaled to [0, 1]. */
  mean: number[];
  std: number[];
  /**
   * The Fashion-MNIST convention of the bundled model (config.json `tokenscope_input`): pad a
   * non-square image to a square with its border's mean, and invert a greyscale image whose
   * border is light, so any photo looks like a training image (a light object on black).
   */
  padToSquare: boolean;
  invertLightBackground: boolean;
  /** Where these settings came from, in words. */
  source: string;
  /** Assumptions and adjustments, in plain words. */
  notes: string[];
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];
/** timm's crop fraction for models that do not name one. */
export const TIMM_DEFAULT_CROP_PCT = 0.875;

const NO_EXTRAS = { padToSquare: false, invertLightBackground: false } as const;

// ---- where the settings come from ------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(message: string): never {
  throw new TokenScopeError('param-out-of-range', message);
}

function channelVector(raw: unknown, channels: number, what: string, fallback: number[]): number[] {
  if (raw === undefined || raw === null) return fallback;
  const arr = typeof raw === 'number' ? Array(channels).fill(raw) : raw;
  if (!Array.isArray(arr) || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) bad(`${what} must be a number or a list of numbers`);
  if (arr.length === channels) return arr as number[];
  if (arr.length === 3 && channels === 1) return [(arr as number[]).reduce((a, b) => a + b, 0) / 3];
  if (arr.length === 1) return Array(channels).fill(arr[0]);
  bad(`${what} has ${arr.length} values for a ${channels}-channel model`);
}

function checkStd(std: number[], where: string): number[] {
  if (!std.every((s) => s > 0)) bad(`${where}: every image_std value must be positive, got [${std}]`);
  return std;
}

/** PIL resampling codes used in Hugging Face image processors. */
function pilInterpolation(code: unknown, notes: string[]): Interpolation {
  if (code === 0) return 'nearest';
  if (code === 3) return 'bicubic';
  if (code === 2 || code === undefined) return 'bilinear';
  notes.push(`Resampling filter ${JSON.stringify(code)} (PIL code) is not implemented here; bicubic is used instead.`);
  return 'bicubic';
}

function timmInterpolation(name: unknown, notes: string[]): Interpolation {
  if (name === 'bicubic' || name === 'bilinear' || name === 'nearest') return name;
  notes.push(`Interpolation ${JSON.stringify(name)} is not implemented here; bicubic is used instead.`);
  return 'bicubic';
}

function sizeOf(raw: unknown): { width: number; height: number } | { shortest: number } | null {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (ok(raw)) return { width: raw, height: raw };
  if (isObject(raw)) {
    if (ok(raw.height) && ok(raw.width)) return { width: raw.width, height: raw.height };
    if (ok(raw.shortest_edge)) return { shortest: raw.shortest_edge };
  }
  return null;
}

function fromHfProcessor(p: Record<string, unknown>, config: VitConfig): PreprocessSpec {
  const notes: string[] = [];
  const S = config.image_size;
  const C = config.num_channels;
  const interpolation = pilInterpolation(p.resample, notes);
  let resize: ResizeRule = { kind: 'exact', width: S, height: S, interpolation };
  if (p.do_resize !== false) {
    const size = sizeOf(p.size);
    if (size && 'shortest' in size) resize = { kind: 'shorter-side', size: size.shortest, interpolation };
    else if (size) resize = { kind: 'exact', width: size.width, height: size.height, interpolation };
  }
  let crop: PreprocessSpec['crop'] = null;
  if (p.do_center_crop === true) {
    const c = sizeOf(p.crop_size);
    if (c && 'width' in c && (c.width !== S || c.height !== S)) {
      notes.push(`The processor crops to ${c.width}×${c.height} but the model reads ${S}×${S}; the crop is ${S}×${S}.`);
    }
    crop = { rounding: 'floor' };
  }
  if (p.do_rescale === false || (typeof p.rescale_factor === 'number' && Math.abs(p.rescale_factor - 1 / 255) > 1e-9)) {
    notes.push('The processor asks for a pixel scale other than 1/255; 1/255 is used.');
  }
  const normalize = p.do_normalize !== false;
  const mean = normalize ? channelVector(p.image_mean, C, 'image_mean', Array(C).fill(0.5)) : Array(C).fill(0);
  const std = normalize ? checkStd(channelVector(p.image_std, C, 'image_std', Array(C).fill(0.5)), 'preprocessor_config.json') : Array(C).fill(1);
  return finish({ ...NO_EXTRAS, inputSize: S, channels: C, resize, crop, mean, std, source: 'preprocessor_config.json (Hugging Face image processor)', notes });
}

function fromTimmCfg(cfg: Record<string, unknown>, config: VitConfig): PreprocessSpec {
  const notes: string[] = [];
  const S = config.image_size;
  const C = config.num_channels;
  const inputSize = cfg.input_size;
  if (Array.isArray(inputSize) && inputSize.length === 3 && (inputSize[1] !== S || inputSize[2] !== S)) {
    notes.push(`pretrained_cfg.input_size is [${inputSize}] but the weights read ${S}×${S}; ${S} is used.`);
  }
  const interpolation = timmInterpolation(cfg.interpolation ?? 'bicubic', notes);
  let cropPct = cfg.crop_pct;
  if (typeof cropPct !== 'number' || !(cropPct > 0 && cropPct <= 1)) {
    if (cropPct !== undefined) notes.push(`crop_pct ${JSON.stringify(cropPct)} is not in (0, 1]; timm's default ${TIMM_DEFAULT_CROP_PCT} is used.`);
    cropPct = TIMM_DEFAULT_CROP_PCT;
  }
  const scaled = Math.floor(S / (cropPct as number));
  const mode = cfg.crop_mode ?? 'center';
  let resize: ResizeRule;
  if (mode === 'squash') {
    resize = { kind: 'exact', width: scaled, height: scaled, interpolation };
  } else {
    if (mode !== 'center') notes.push(`crop_mode ${JSON.stringify(mode)} is not implemented here; a centre crop is used.`);
    resize = { kind: 'shorter-side', size: scaled, interpolation };
  }
  const mean = channelVector(cfg.mean, C, 'pretrained_cfg.mean', IMAGENET_MEAN.slice(0, C));
  const std = checkStd(channelVector(cfg.std, C, 'pretrained_cfg.std', IMAGENET_STD.slice(0, C)), 'pretrained_cfg');
  return finish({
    ...NO_EXTRAS,
    inputSize: S,
    channels: C,
    resize,
    crop: { rounding: 'half-even' },
    mean,
    std,
    source: `timm pretrained_cfg in config.json (crop_pct ${cropPct}, ${interpolation})`,
    notes,
  });
}

/** Checks the crop fits in the resized image and drops a crop that would do nothing. */
function finish(spec: PreprocessSpec): PreprocessSpec {
  const S = spec.inputSize;
  const r = spec.resize;
  const small = r.kind === 'shorter-side' ? r.size < S : r.width < S || r.height < S;
  if (small) bad(`${spec.source}: images are resized below the model's ${S}×${S} input, so a ${S}×${S} crop does not fit`);
  if (r.kind === 'exact' && r.width === S && r.height === S) return { ...spec, crop: null };
  if (!spec.crop) return { ...spec, crop: { rounding: 'floor' }, notes: [...spec.notes, `Resized images are larger than ${S}×${S}; they are centre-cropped.`] };
  return spec;
}

export interface PreprocessSources {
  config: VitConfig;
  layout: CheckpointLayout;
  /** config.json as parsed JSON, when there is one. */
  configJson?: unknown;
  /** preprocessor_config.json as parsed JSON, when there is one. */
  preprocessorJson?: unknown;
}

/**
 * The preprocessing a checkpoint asks for; see the module comment for the order of sources. A
 * `tokenscope_preprocessing` sentence in config.json (the bundled model's advice) joins the notes.
 */
export function resolvePreprocess(sources: PreprocessSources): PreprocessSpec {
  const spec = withExtras(resolveSpec(sources), isObject(sources.configJson) ? sources.configJson.tokenscope_input : undefined);
  const advice = isObject(sources.configJson) ? sources.configJson.tokenscope_preprocessing : undefined;
  return typeof advice === 'string' ? { ...spec, notes: [...spec.notes, advice] } : spec;
}

/**
 * TokenScope's own `tokenscope_input` in config.json: `{"pad_to_square": "border_mean",
 * "invert_light_background": true}` (the bundled Fashion-MNIST model). Inversion needs a
 * greyscale model; unknown values are refused rather than guessed.
 */
function withExtras(spec: PreprocessSpec, raw: unknown): PreprocessSpec {
  if (raw === undefined || raw === null) return spec;
  if (!isObject(raw)) bad('config.json tokenscope_input must be an object like {"pad_to_square": "border_mean", "invert_light_background": true}');
  const pad = raw.pad_to_square;
  if (pad !== undefined && pad !== null && pad !== 'border_mean')
    bad(`config.json tokenscope_input.pad_to_square must be "border_mean", got ${JSON.stringify(pad)}`);
  const invert = raw.invert_light_background;
  if (invert !== undefined && typeof invert !== 'boolean')
    bad(`config.json tokenscope_input.invert_light_background must be true or false, got ${JSON.stringify(invert)}`);
  if (invert === true && spec.channels !== 1) bad('config.json tokenscope_input.invert_light_background needs a greyscale model (num_channels 1)');
  return { ...spec, padToSquare: pad === 'border_mean', invertLightBackground: invert === true };
}

function resolveSpec({ config, layout, configJson, preprocessorJson }: PreprocessSources): PreprocessSpec {
  if (isObject(preprocessorJson)) return fromHfProcessor(preprocessorJson, config);
  if (isObject(configJson) && isObject(configJson.pretrained_cfg)) return fromTimmCfg(configJson.pretrained_cfg, config);
  const S = config.image_size;
  const C = config.num_channels;
  if (config.image_mean && config.image_std) {
    return finish({
      ...NO_EXTRAS,
      inputSize: S,
      channels: C,
      resize: { kind: 'exact', width: S, height: S, interpolation: 'bilinear' },
      crop: null,
      mean: config.image_mean,
      std: checkStd(config.image_std, 'config.json'),
      source: 'config.json (image_mean, image_std)',
      notes: [],
    });
  }
  if (layout === 'timm' && C === 3) {
    const spec = fromTimmCfg({ crop_pct: TIMM_DEFAULT_CROP_PCT, interpolation: 'bicubic', mean: IMAGENET_MEAN, std: IMAGENET_STD }, config);
    return {
      ...spec,
      source: "timm's defaults (assumed: the checkpoint names no preprocessing)",
      notes: [
        ...spec.notes,
        `No preprocessing settings came with the checkpoint: timm's defaults are assumed (bicubic, crop_pct ${TIMM_DEFAULT_CROP_PCT}, ImageNet mean and std).`,
      ],
    };
  }
  const spec = fromHfProcessor({}, config);
  return {
    ...spec,
    source: 'Hugging Face ViT defaults (assumed: the checkpoint names no preprocessing)',
    notes: [
      ...spec.notes,
      'No preprocessing settings came with the checkpoint: Hugging Face ViT defaults are assumed (bilinear resize to the input size, mean and std 0.5).',
    ],
  };
}

// ---- the steps for one image -----------------------------------------------------------------

export type PreprocessStep =
  | { op: 'channels'; from: number; to: number; method: 'drop-alpha' | 'luminance' | 'replicate' }
  | { op: 'as-is'; width: number; height: number }
  /** Pad the shorter side equally (the odd pixel after) with the border's mean, per channel. */
  | { op: 'pad'; fromWidth: number; fromHeight: number; side: number; fill: number[] }
  /** 255 − v when the border is light; recorded whether or not it applies, with the reason. */
  | { op: 'invert'; applied: boolean; borderMean: number }
  | { op: 'resize'; fromWidth: number; fromHeight: number; width: number; height: number; interpolation: Interpolation }
  | { op: 'crop'; left: number; top: number; width: number; height: number }
  | { op: 'rescale'; factor: number }
  | { op: 'normalize'; mean: number[]; std: number[] };

/** Python's round(): halves go to the even neighbour (torchvision's crop offset). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function channelMethod(from: number, to: number): PreprocessStep | null {
  const colour = from >= 3 ? 3 : 1;
  if (to === 1 && colour === 3) return { op: 'channels', from, to: 1, method: 'luminance' };
  if (to === 3 && colour === 1) return { op: 'channels', from, to: 3, method: 'replicate' };
  if (from !== colour) return { op: 'channels', from, to, method: 'drop-alpha' };
  return null;
}

/**
 * The steps `preprocessImage` takes for a width × height image with `channels` channels, as far
 * as sizes decide them. With `padToSquare` the geometry is planned for the padded square; the pad
 * and invert steps themselves depend on the pixels (the border's mean), so only preprocessImage
 * reports them.
 */
export function planPreprocess(spec: PreprocessSpec, width: number, height: number, channels: number): PreprocessStep[] {
  const conv = channelMethod(channels, spec.channels);
  const side = Math.max(width, height);
  return [...(conv ? [conv] : []), ...(spec.padToSquare ? planGeometry(spec, side, side) : planGeometry(spec, width, height))];
}

/** Resize, crop, rescale and normalise for an image of width × height (channels already converted). */
function planGeometry(spec: PreprocessSpec, width: number, height: number): PreprocessStep[] {
  const S = spec.inputSize;
  const steps: PreprocessStep[] = [];
  if (width === S && height === S) {
    steps.push({ op: 'as-is', width, height });
  } else {
    const r = spec.resize;
    let w: number;
    let h: number;
    if (r.kind === 'exact') {
      [w, h] = [r.width, r.height];
    } else if (width <= height) {
      [w, h] = [r.size, Math.floor((r.size * height) / width)];
    } else {
      [w, h] = [Math.floor((r.size * width) / height), r.size];
    }
    if (w !== width || h !== height) steps.push({ op: 'resize', fromWidth: width, fromHeight: height, width: w, height: h, interpolation: r.interpolation });
    if (w !== S || h !== S) {
      if (w < S || h < S) bad(`image ${width}×${height} resizes to ${w}×${h}, smaller than the model's ${S}×${S} input`);
      const round = spec.crop?.rounding === 'half-even' ? roundHalfEven : Math.floor;
      steps.push({ op: 'crop', left: round((w - S) / 2), top: round((h - S) / 2), width: S, height: S });
    }
  }
  steps.push({ op: 'rescale', factor: 1 / 255 });
  steps.push({ op: 'normalize', mean: spec.mean, std: spec.std });
  return steps;
}

const fmt = (xs: readonly number[]) => xs.map((x) => Number(x.toFixed(4))).join(', ');

/** One step in plain words, for the UI. */
export function describeStep(step: PreprocessStep): string {
  switch (step.op) {
    case 'channels':
      return step.method === 'luminance'
        ? 'convert to greyscale (luminance 0.299 R + 0.587 G + 0.114 B)'
        : step.method === 'replicate'
          ? 'repeat the grey channel as red, green and blue'
          : `drop the alpha channel (${step.from} → ${step.to} channels)`;
    case 'as-is':
      return `already ${step.width}×${step.height}: used as is (no resize or crop)`;
    case 'pad':
      return `pad ${step.fromWidth}×${step.fromHeight} → ${step.side}×${step.side} with the border's mean value (${step.fill.join(', ')}), so padding adds no edges`;
    case 'invert':
      return step.applied
        ? `invert (255 − v): the background is light (border mean ${step.borderMean.toFixed(1)} of 255) and the model expects a light object on black`
        : `not inverted: the background is dark (border mean ${step.borderMean.toFixed(1)} of 255), as the model expects`;
    case 'resize':
      return `resize ${step.fromWidth}×${step.fromHeight} → ${step.width}×${step.height} (${step.interpolation})`;
    case 'crop':
      return `centre crop ${step.width}×${step.height} at (${step.left}, ${step.top})`;
    case 'rescale':
      return 'scale pixels to [0, 1] (divide by 255)';
    case 'normalize':
      return `normalise each channel: (x − mean) / std with mean [${fmt(step.mean)}] and std [${fmt(step.std)}]`;
  }
}

/** The rule in plain words, before any image is chosen. */
export function describePreprocess(spec: PreprocessSpec): string[] {
  const S = spec.inputSize;
  const r = spec.resize;
  const lines = [
    spec.channels === 1 ? 'greyscale input (colour images are converted)' : 'RGB input (greyscale images are repeated over 3 channels)',
    r.kind === 'shorter-side'
      ? `resize the shorter side to ${r.size} (${r.interpolation}), keeping the aspect ratio`
      : `resize to ${r.width}×${r.height} (${r.interpolation})`,
  ];
  if (spec.padToSquare) lines.splice(1, 0, "pad a non-square image to a square with its border's mean value");
  if (spec.invertLightBackground)
    lines.splice(spec.padToSquare ? 2 : 1, 0, 'invert the image when its background is light (a light object on black, as in training)');
  if (spec.crop) lines.push(`centre crop ${S}×${S}`);
  lines.push(describeStep({ op: 'rescale', factor: 1 / 255 }), describeStep({ op: 'normalize', mean: spec.mean, std: spec.std }));
  lines.push(`an image that is already ${S}×${S} is only normalised`);
  return lines;
}

// ---- the math --------------------------------------------------------------------------------

/** 8-bit pixels, row-major, channels interleaved: [height, width, channels]. */
export interface RawImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  channels: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** Largest image accepted (pixels), so a hostile file cannot make us allocate without bound. */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;

export function checkRawImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  if (![width, height].every((n) => Number.isInteger(n) && n > 0) || ![1, 2, 3, 4].includes(channels)) {
    throw new TokenScopeError('image-unreadable', `image of ${width}×${height}×${channels} is not a valid picture (positive sizes, 1 to 4 channels)`);
  }
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new TokenScopeError('image-too-large', `image of ${width}×${height} has more than ${MAX_IMAGE_PIXELS} pixels; downscale it first`);
  }
  if (data.length !== width * height * channels) {
    throw new TokenScopeError('image-unreadable', `image of ${width}×${height}×${channels} needs ${width * height * channels} bytes, got ${data.length}`);
  }
}

/** Kernel value and support radius of each filter (bicubic with a = −0.5, as PIL). */
const FILTERS: Record<Exclude<Interpolation, 'nearest'>, { support: number; f: (x: number) => number }> = {
  bilinear: { support: 1, f: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) },
  bicubic: {
    support: 2,
    f: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a; // Pillow's form: the same rounding
      return 0;
    },
  },
};

interface Taps {
  first: Int32Array; // first input index per output index
  count: Int32Array;
  stride: number; // taps stored per output index
  weights: Float64Array;
}

/** Resampling taps from inSize to outSize; antialiased (the kernel widens when shrinking). */
function taps(inSize: number, outSize: number, interpolation: Interpolation): Taps {
  const scale = inSize / outSize;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  if (interpolation === 'nearest') {
    const weights = new Float64Array(outSize).fill(1);
    for (let i = 0; i < outSize; i++) {
      first[i] = Math.min(inSize - 1, Math.floor((i + 0.5) * scale));
      count[i] = 1;
    }
    return { first, count, stride: 1, weights };
  }
  const { support: base, f } = FILTERS[interpolation];
  const widen = Math.max(scale, 1);
  const support = base * widen;
  const stride = Math.ceil(support) * 2 + 1;
  const weights = new Float64Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(inSize, Math.floor(center + support + 0.5));
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const w = f((j - center + 0.5) / widen);
      weights[i * stride + (j - lo)] = w;
      sum += w;
    }
    if (sum !== 0) for (let j = lo; j < hi; j++) weights[i * stride + (j - lo)] /= sum;
    first[i] = lo;
    count[i] = hi - lo;
  }
  return { first, count, stride, weights };
}

/** Pillow's fixed point for 8-bit resampling: weights scaled by 2^22 and rounded away from 0. */
const PRECISION_BITS = 22;
const fixedPoint = (w: number) => Math.trunc(w < 0 ? -0.5 + w * 2 ** PRECISION_BITS : 0.5 + w * 2 ** PRECISION_BITS);
/** A fixed-point sum back to 8 bits, clipped (Pillow's clip8). */
const clip8 = (s: number) => (s >= 2 ** (PRECISION_BITS + 8) ? 255 : s <= 0 ? 0 : s >> PRECISION_BITS);

/** One separable pass along x (axis 'x') or y, rounding back to 8 bits exactly as Pillow does. */
function pass(src: Uint8Array, w: number, h: number, c: number, outSize: number, axis: 'x' | 'y', interpolation: Interpolation): Uint8Array {
  const t = taps(axis === 'x' ? w : h, outSize, interpolation);
  const ow = axis === 'x' ? outSize : w;
  const oh = axis === 'x' ? h : outSize;
  const out = new Uint8Array(ow * oh * c);
  const { first, count, stride } = t;
  const weights = Int32Array.from(t.weights, fixedPoint);
  // Distance between two taps in `src`: the next pixel (x) or the next row (y).
  const step = axis === 'x' ? c : w * c;
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const i = axis === 'x' ? x : y;
      const n = count[i];
      const wAt = i * stride;
      const start = axis === 'x' ? (y * w + first[i]) * c : (first[i] * w + x) * c;
      const o = (y * ow + x) * c;
      for (let ch = 0; ch < c; ch++) {
        let s = half;
        for (let k = 0, at = start + ch; k < n; k++, at += step) s += src[at] * weights[wAt + k];
        out[o + ch] = clip8(s);
      }
    }
  }
  return out;
}

function convertChannels(image: RawImage, step: Extract<PreprocessStep, { op: 'channels' }>): Uint8Array {
  const { width, height, channels, data } = image;
  const n = width * height;
  const out = new Uint8Array(n * step.to);
  for (let i = 0; i < n; i++) {
    const at = i * channels;
    if (step.method === 'luminance') {
      // ITU-R 601-2 luma in 16-bit fixed point (PIL's "L" conversion), rounded.
      out[i] = (data[at] * 19595 + data[at + 1] * 38470 + data[at + 2] * 7471 + 0x8000) >> 16;
    } else if (step.method === 'replicate') {
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = data[at];
    } else {
      for (let ch = 0; ch < step.to; ch++) out[i * step.to + ch] = data[at + ch];
    }
  }
  return out;
}

/** Mean of each channel over the outer ring of pixels (about 4 % of the shorter side, at least 1 px). */
export function borderMean(data: Uint8Array, width: number, height: number, channels: number): number[] {
  const ring = Math.max(1, Math.round(0.04 * Math.min(width, height)));
  const sums = new Array<number>(channels).fill(0);
  let count = 0;
  for (let y = 0; y < height; y++) {
    const edgeRow = y < ring || y >= height - ring;
    for (let x = 0; x < width; x++) {
      if (!edgeRow && x >= ring && x < width - ring) continue;
      const at = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) sums[c] += data[at + c];
      count++;
    }
  }
  return sums.map((s) => s / count);
}

function padToSquare(data: Uint8Array, width: number, height: number, channels: number, fill: number[]): Uint8Array {
  const side = Math.max(width, height);
  const left = Math.floor((side - width) / 2);
  const top = Math.floor((side - height) / 2);
  const out = new Uint8Array(side * side * channels);
  for (let i = 0; i < side * side; i++) out.set(fill, i * channels);
  for (let y = 0; y < height; y++) out.set(data.subarray(y * width * channels, (y + 1) * width * channels), ((y + top) * side + left) * channels);
  return out;
}

export interface PreprocessedImage {
  /** Normalised float32 [S, S, C], row-major, channels interleaved: what the model reads. */
  pixels: Float32Array;
  /** The same before rescaling and normalising: 8-bit [S, S, C], what a view shows. */
  u8: Uint8Array;
  steps: PreprocessStep[];
}

/**
 * Preprocesses one 8-bit image for the model and reports every step taken. Throws
 * 'image-unreadable' / 'image-too-large' for a bad image.
 */
export function preprocessImage(image: RawImage, spec: PreprocessSpec): PreprocessedImage {
  checkRawImage(image);
  let data: Uint8Array = image.data instanceof Uint8Array ? image.data : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length);
  let w = image.width;
  let h = image.height;
  let c = image.channels;
  const steps: PreprocessStep[] = [];
  const conv = channelMethod(c, spec.channels);
  if (conv?.op === 'channels') {
    data = convertChannels({ width: w, height: h, channels: c, data }, conv);
    c = conv.to;
    steps.push(conv);
  }
  if (spec.padToSquare || spec.invertLightBackground) {
    const border = borderMean(data, w, h, c);
    if (spec.padToSquare && w !== h) {
      const fill = border.map((v) => Math.round(v));
      const side = Math.max(w, h);
      data = padToSquare(data, w, h, c, fill);
      steps.push({ op: 'pad', fromWidth: w, fromHeight: h, side, fill });
      [w, h] = [side, side];
    }
    if (spec.invertLightBackground) {
      const applied = border[0] > 127.5;
      if (applied) data = data.map((v) => 255 - v);
      steps.push({ op: 'invert', applied, borderMean: border[0] });
    }
  }
  const S = spec.inputSize;
  const pixels = new Float32Array(S * S * spec.channels);
  for (const step of planGeometry(spec, w, h)) {
    steps.push(step);
    if (step.op === 'resize') {
      if (step.width !== w) data = pass(data, w, h, c, step.width, 'x', step.interpolation);
      w = step.width;
      if (step.height !== h) data = pass(data, w, h, c, step.height, 'y', step.interpolation);
      h = step.height;
    } else if (step.op === 'crop') {
      const out = new Uint8Array(step.width * step.height * c);
      for (let y = 0; y < step.height; y++) {
        const from = ((step.top + y) * w + step.left) * c;
        out.set(data.subarray(from, from + step.width * c), y * step.width * c);
      }
      data = out;
      [w, h] = [step.width, step.height];
    } else if (step.op === 'normalize') {
      if (w !== S || h !== S || c !== spec.channels)
        throw new TokenScopeError('internal', `preprocessing ended at ${w}×${h}×${c}, expected ${S}×${S}×${spec.channels}`);
      pixels.set(normalizeU8(data, step.mean, step.std));
    }
  }
  return { pixels, u8: data, steps };
}

/** (v / 255 − mean) / std per channel, for 8-bit pixels with channels interleaved. */
export function normalizeU8(u8: ArrayLike<number>, mean: readonly number[], std: readonly number[]): Float32Array {
  const C = mean.length;
  return Float32Array.from(u8, (v, i) => (v / 255 - mean[i % C]) / std[i % C]);
}

/** preprocessImage as a [1, S, S, C] tensor; the caller disposes it. */
export function preprocessToTensor(image: RawImage, spec: PreprocessSpec): { pixels: tf.Tensor4D; steps: PreprocessStep[] } {
  const { pixels, steps } = preprocessImage(image, spec);
  return { pixels: tf.tensor4d(pixels, [1, spec.inputSize, spec.inputSize, spec.channels]), steps };
}

/**
 * Decodes an image file (PNG, JPEG, WebP, … whatever the browser reads) to RGBA pixels with
 * createImageBitmap and an OffscreenCanvas: works in a page and in a worker, not in Node.
 */
export async function decodeImageBlob(blob: Blob): Promise<RawImage> {
  const g = globalThis as { createImageBitmap?: typeof createImageBitmap; OffscreenCanvas?: typeof OffscreenCanvas };
  if (!g.createImageBitmap || !g.OffscreenCanvas) {
    throw new TokenScopeError(
      'backend-unavailable',
      'decoding images needs createImageBitmap and OffscreenCanvas (a browser); in Node use src/io/decode-image-node.ts',
    );
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await g.createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new TokenScopeError('image-unreadable', `the browser could not decode this image (${e instanceof Error ? e.message : String(e)}); use a PNG or JPEG file`);
  }
  try {
    if (bitmap.width * bitmap.height > MAX_IMAGE_PIXELS) {
      throw new TokenScopeError('image-too-large', `image of ${bitmap.width}×${bitmap.height} has more than ${MAX_IMAGE_PIXELS} pixels; downscale it first`);
    }
    const canvas = new g.OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new TokenScopeError('backend-unavailable', 'no 2-D canvas context is available to decode images');
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: bitmap.width, height: bitmap.height, channels: 4, data };
  } finally {
    bitmap.close();
  }
}
