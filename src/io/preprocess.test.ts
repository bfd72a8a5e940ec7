import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';
import type { VitConfig } from '../model/config';
import {
  describePreprocess,
  describeStep,
  planPreprocess,
  preprocessImage,
  preprocessToTensor,
  resolvePreprocess,
  type PreprocessSpec,
  type RawImage,
} from './preprocess';

useWasmBackend();

const rgb224: VitConfig = {
  hidden_size: 192,
  num_hidden_layers: 12,
  num_attention_heads: 3,
  intermediate_size: 768,
  image_size: 224,
  patch_size: 16,
  num_channels: 3,
  layer_norm_eps: 1e-6,
  id2label: { 0: 'a' },
};
const grey28: VitConfig = { ...rgb224, image_size: 28, patch_size: 4, num_channels: 1, image_mean: [0.286], image_std: [0.353] };

/** timm's config.json for timm/deit_tiny_patch16_224.fb_in1k (pretrained_cfg as published). */
const DEIT_TIMM_CONFIG = {
  architecture: 'deit_tiny_patch16_224',
  num_classes: 1000,
  pretrained_cfg: {
    input_size: [3, 224, 224],
    interpolation: 'bicubic',
    crop_pct: 0.9,
    crop_mode: 'center',
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  },
};
/** A ViTFeatureExtractor preprocessor_config.json as Google and WinKawaks ViT repositories have it. */
const VIT_PREPROCESSOR = { do_normalize: true, do_resize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], resample: 2, size: 224 };

const deit = () => resolvePreprocess({ config: rgb224, layout: 'timm', configJson: DEIT_TIMM_CONFIG });

function image(width: number, height: number, channels: number, f: (x: number, y: number, c: number) => number): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { width, height, channels, data };
}

describe('resolvePreprocess', () => {
  it('resolvePreprocess reads timm DeiT pretrained_cfg: shorter side to floor(224 / 0.9) = 248, bicubic, centre crop 224, ImageNet mean and std', () => {
    const spec = deit();
    expect(spec.resize).toEqual({ kind: 'shorter-side', size: 248, interpolation: 'bicubic' });
    expect(spec.crop).toEqual({ rounding: 'half-even' });
    expect(spec.mean).toEqual([0.485, 0.456, 0.406]);
    expect(spec.std).toEqual([0.229, 0.224, 0.225]);
    expect(spec.source).toBe('timm pretrained_cfg in config.json (crop_pct 0.9, bicubic)');
  });

  it('resolvePreprocess reads a ViT preprocessor_config.json: straight to 224×224 (bilinear), mean and std 0.5, no crop', () => {
    const spec = resolvePreprocess({ config: rgb224, layout: 'hf-vit', configJson: { hidden_size: 192 }, preprocessorJson: VIT_PREPROCESSOR });
    expect(spec).toMatchObject({
      resize: { kind: 'exact', width: 224, height: 224, interpolation: 'bilinear' },
      crop: null,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    });
  });

  it('resolvePreprocess reads a DeiT image processor: 256×256 bicubic, then a floored centre crop', () => {
    const spec = resolvePreprocess({
      config: rgb224,
      layout: 'hf-deit',
      preprocessorJson: {
        do_resize: true,
        size: { height: 256, width: 256 },
        resample: 3,
        do_center_crop: true,
        crop_size: { height: 224, width: 224 },
        image_mean: [0.485, 0.456, 0.406],
        image_std: [0.229, 0.224, 0.225],
      },
    });
    expect(spec).toMatchObject({ resize: { kind: 'exact', width: 256, height: 256, interpolation: 'bicubic' }, crop: { rounding: 'floor' } });
  });

  it("resolvePreprocess reads the bundled model's config.json (image_mean, image_std, 28×28 greyscale)", () => {
    const spec = resolvePreprocess({ config: grey28, layout: 'hf-vit', configJson: { hidden_size: 64, tokenscope_preprocessing: 'Invert light backgrounds.' } });
    expect(spec).toMatchObject({ inputSize: 28, channels: 1, resize: { kind: 'exact', width: 28, height: 28 }, crop: null, mean: [0.286], std: [0.353] });
    expect(spec.notes).toEqual(['Invert light backgrounds.']);
    const exported = resolvePreprocess({
      config: grey28,
      layout: 'hf-vit',
      configJson: { hidden_size: 64, tokenscope_preprocessing: 'Invert light backgrounds.' },
      preprocessorJson: {
        do_resize: true,
        size: { height: 28, width: 28 },
        resample: 2,
        do_rescale: true,
        rescale_factor: 1 / 255,
        do_normalize: true,
        image_mean: [0.286],
        image_std: [0.353],
      },
    });
    expect(exported).toMatchObject({
      resize: { kind: 'exact', width: 28, height: 28, interpolation: 'bilinear' },
      mean: [0.286],
      std: [0.353],
      notes: ['Invert light backgrounds.'],
    });
  });

  it('resolvePreprocess states its assumption when the checkpoint names no preprocessing', () => {
    const timm = resolvePreprocess({ config: rgb224, layout: 'timm' });
    expect(timm.resize).toEqual({ kind: 'shorter-side', size: 256, interpolation: 'bicubic' });
    expect(timm.notes.join(' ')).toMatch(/timm's defaults are assumed/);
    const hf = resolvePreprocess({ config: rgb224, layout: 'hf-vit' });
    expect(hf).toMatchObject({ resize: { kind: 'exact', width: 224, height: 224 }, mean: [0.5, 0.5, 0.5] });
    expect(hf.notes.join(' ')).toMatch(/Hugging Face ViT defaults are assumed/);
  });

  it('resolvePreprocess rejects a zero std and a resize smaller than the input', () => {
    expect(() => resolvePreprocess({ config: rgb224, layout: 'hf-vit', preprocessorJson: { ...VIT_PREPROCESSOR, image_std: [0.5, 0, 0.5] } })).toThrowError(
      expect.objectContaining({ code: 'param-out-of-range' }),
    );
    expect(() => resolvePreprocess({ config: rgb224, layout: 'hf-vit', preprocessorJson: { ...VIT_PREPROCESSOR, size: 200 } })).toThrowError(
      expect.objectContaining({ code: 'param-out-of-range' }),
    );
  });
});

describe('planPreprocess', () => {
  it('planPreprocess for a 500×375 photo on DeiT: resize to 330×248 (longer side truncated), crop at (53, 12)', () => {
    const steps = planPreprocess(deit(), 500, 375, 4);
    expect(steps).toEqual([
      { op: 'channels', from: 4, to: 3, method: 'drop-alpha' },
      { op: 'resize', fromWidth: 500, fromHeight: 375, width: 330, height: 248, interpolation: 'bicubic' },
      { op: 'crop', left: 53, top: 12, width: 224, height: 224 },
      { op: 'rescale', factor: 1 / 255 },
      { op: 'normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    ]);
  });

  it('planPreprocess rounds a half-pixel crop offset to even for timm and down for Hugging Face', () => {
    const crop = (spec: PreprocessSpec, w: number) => planPreprocess(spec, w, 248, 3).find((s) => s.op === 'crop');
    const timm = { ...deit(), resize: { kind: 'exact', width: 0, height: 0, interpolation: 'bicubic' } as const };
    expect(crop({ ...timm, resize: { ...timm.resize, width: 249, height: 248 } }, 249)).toMatchObject({ left: 12, top: 12 }); // 12.5 -> 12
    expect(crop({ ...timm, resize: { ...timm.resize, width: 251, height: 248 } }, 251)).toMatchObject({ left: 14 }); // 13.5 -> 14
    const hf = { ...timm, crop: { rounding: 'floor' as const } };
    expect(crop({ ...hf, resize: { ...hf.resize, width: 251, height: 248 } }, 251)).toMatchObject({ left: 13 });
  });

  it('planPreprocess leaves an image already at the input size unresized and uncropped', () => {
    expect(planPreprocess(deit(), 224, 224, 3).map((s) => s.op)).toEqual(['as-is', 'rescale', 'normalize']);
    expect(planPreprocess(deit(), 224, 224, 1)[0]).toEqual({ op: 'channels', from: 1, to: 3, method: 'replicate' });
  });

  it('describeStep and describePreprocess put every step in words', () => {
    const lines = planPreprocess(deit(), 500, 375, 3).map(describeStep);
    expect(lines).toEqual([
      'resize 500×375 → 330×248 (bicubic)',
      'centre crop 224×224 at (53, 12)',
      'scale pixels to [0, 1] (divide by 255)',
      'normalise each channel: (x − mean) / std with mean [0.485, 0.456, 0.406] and std [0.229, 0.224, 0.225]',
    ]);
    expect(describePreprocess(deit())).toContain('resize the shorter side to 248 (bicubic), keeping the aspect ratio');
    expect(describePreprocess(deit())).toContain('an image that is already 224×224 is only normalised');
  });
});

describe('preprocessImage', () => {
  it('preprocessImage of an image at the input size only normalises: (v / 255 − mean) / std', () => {
    const spec = resolvePreprocess({ config: grey28, layout: 'hf-vit' });
    const img = image(28, 28, 1, (x, y) => (x * 9 + y) % 256);
    const { pixels } = preprocessImage(img, spec);
    for (const [x, y] of [
      [0, 0],
      [3, 5],
      [27, 27],
    ]) {
      const v = (x * 9 + y) % 256;
      expect(pixels[y * 28 + x]).toBeCloseTo((v / 255 - 0.286) / 0.353, 6);
    }
  });

  it('preprocessImage converts colour to PIL luminance: red 76, green 150, blue 29', () => {
    const spec: PreprocessSpec = { ...resolvePreprocess({ config: grey28, layout: 'hf-vit' }), mean: [0], std: [1] };
    const img = image(28, 28, 3, (x, _y, c) => (x % 3 === c ? 255 : 0));
    const { pixels } = preprocessImage(img, spec);
    expect([0, 1, 2].map((x) => Math.round(pixels[x] * 255))).toEqual([76, 150, 29]);
  });

  it('preprocessImage shrinks with an antialiased filter: bilinear 4 → 2 of [0, 100, 200, 255] gives [71, 209]', () => {
    // Worked by hand: scale 2, triangle widened to radius 2; output 0 centred at 1 takes inputs
    // 0, 1, 2 with weights 0.75, 0.75, 0.25 (normalised by 1.75): (75 + 50) / 1.75 = 71.4 -> 71.
    // Output 1 centred at 3 takes inputs 1, 2, 3 with weights 0.25, 0.75, 0.75: (25 + 150 + 191.25) / 1.75 = 209.3.
    const spec: PreprocessSpec = {
      inputSize: 2,
      channels: 1,
      resize: { kind: 'exact', width: 2, height: 2, interpolation: 'bilinear' },
      crop: null,
      mean: [0],
      std: [1],
      source: 'test',
      notes: [],
      padToSquare: false,
      invertLightBackground: false,
    };
    const row = [0, 100, 200, 255];
    const { pixels } = preprocessImage(
      image(4, 4, 1, (x) => row[x]),
      spec,
    );
    expect(Array.from(pixels.subarray(0, 2), (v) => Math.round(v * 255))).toEqual([71, 209]);
  });

  it('preprocessImage keeps a flat image flat through bicubic resize and crop', () => {
    const spec = deit();
    const { pixels, steps } = preprocessImage(
      image(300, 260, 3, (_x, _y, c) => [10, 128, 250][c]),
      spec,
    );
    expect(steps.map((s) => s.op)).toEqual(['resize', 'crop', 'rescale', 'normalize']);
    for (let c = 0; c < 3; c++) {
      const want = ([10, 128, 250][c] / 255 - spec.mean[c]) / spec.std[c];
      for (let i = c; i < pixels.length; i += 997 * 3) expect(pixels[i]).toBeCloseTo(want, 5);
    }
  });

  it('preprocessImage rejects a broken or oversized image with its code', () => {
    const spec = deit();
    expect(() => preprocessImage({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }, spec)).toThrowError(
      expect.objectContaining({ code: 'image-unreadable' }),
    );
    expect(() => preprocessImage({ width: 0, height: 2, channels: 3, data: new Uint8Array(0) }, spec)).toThrowError(
      expect.objectContaining({ code: 'image-unreadable' }),
    );
    expect(() => preprocessImage({ width: 100_000, height: 100_000, channels: 1, data: new Uint8Array(0) }, spec)).toThrowError(
      expect.objectContaining({ code: 'image-too-large' }),
    );
  });

  it('preprocessToTensor returns one [1, S, S, C] tensor the caller owns', async () => {
    const spec = deit();
    const { pixels } = await expectNoLeak(
      () =>
        preprocessToTensor(
          image(224, 224, 3, () => 7),
          spec,
        ),
      { returned: 1 },
    );
    expect(pixels.shape).toEqual([1, 224, 224, 3]);
    tf.dispose(pixels);
  });
});

describe('the bundled model’s Fashion-MNIST convention (config.json tokenscope_input)', () => {
  const bundled = () => {
    const dir = 'models/fmnist-vit';
    const configJson = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
    const preprocessorJson = JSON.parse(readFileSync(`${dir}/preprocessor_config.json`, 'utf8'));
    return resolvePreprocess({ config: grey28, layout: 'hf-vit', configJson, preprocessorJson });
  };
  const tiny = (over: Partial<PreprocessSpec>): PreprocessSpec => ({
    inputSize: 3,
    channels: 1,
    resize: { kind: 'exact', width: 3, height: 3, interpolation: 'bilinear' },
    crop: null,
    mean: [0],
    std: [1],
    source: 'test',
    notes: [],
    padToSquare: true,
    invertLightBackground: true,
    ...over,
  });

  it('the shipped config asks for padding and inversion, and says so in words', () => {
    const spec = bundled();
    expect(spec.padToSquare).toBe(true);
    expect(spec.invertLightBackground).toBe(true);
    expect(describePreprocess(spec).join(' ')).toMatch(/border's mean.*invert/);
  });

  it('pads 3×2 to 3×3 below with the border mean (10+…+60)/6 = 35, and leaves a dark image uninverted', () => {
    const { u8, steps } = preprocessImage({ width: 3, height: 2, channels: 1, data: Uint8Array.from([10, 20, 30, 40, 50, 60]) }, tiny({}));
    expect(Array.from(u8)).toEqual([10, 20, 30, 40, 50, 60, 35, 35, 35]);
    expect(steps.slice(0, 3)).toEqual([
      { op: 'pad', fromWidth: 3, fromHeight: 2, side: 3, fill: [35] },
      { op: 'invert', applied: false, borderMean: 35 },
      { op: 'as-is', width: 3, height: 3 },
    ]);
  });

  it('inverts a light background (border mean 227.5 > 127.5): 255 − v', () => {
    const spec = tiny({ inputSize: 2, resize: { kind: 'exact', width: 2, height: 2, interpolation: 'bilinear' } });
    const { u8, pixels, steps } = preprocessImage({ width: 2, height: 2, channels: 1, data: Uint8Array.from([200, 220, 240, 250]) }, spec);
    expect(Array.from(u8)).toEqual([55, 35, 15, 5]);
    expect(pixels[0]).toBeCloseTo(55 / 255, 6);
    expect(steps[0]).toEqual({ op: 'invert', applied: true, borderMean: 227.5 });
    expect(describeStep(steps[0])).toMatch(/^invert \(255 − v\): the background is light \(border mean 227\.5/);
  });

  it('a colour photo: luminance first, then pad and invert are decided on the grey values', () => {
    // White RGBA 4×2 with one black pixel: luma 255 everywhere but one, border mean (7·255 + 0)/8.
    const data = new Uint8Array(4 * 2 * 4).fill(255);
    data.set([0, 0, 0, 255], 0);
    const { steps } = preprocessImage(
      { width: 4, height: 2, channels: 4, data },
      tiny({ inputSize: 4, resize: { kind: 'exact', width: 4, height: 4, interpolation: 'bilinear' } }),
    );
    expect(steps.slice(0, 3).map((s) => s.op)).toEqual(['channels', 'pad', 'invert']);
    expect(steps[1]).toMatchObject({ fill: [Math.round((7 * 255) / 8)] });
    expect(steps[2]).toMatchObject({ applied: true });
  });

  it('refuses a tokenscope_input it does not understand, naming the field', () => {
    const resolve =
      (extra: unknown, config = grey28) =>
      () =>
        resolvePreprocess({ config, layout: 'hf-vit', configJson: { hidden_size: 64, tokenscope_input: extra } });
    expect(resolve({ pad_to_square: 'zeros' })).toThrowError(/pad_to_square must be "border_mean"/);
    expect(resolve({ invert_light_background: 'yes' })).toThrowError(/invert_light_background must be true or false/);
    expect(resolve({ invert_light_background: true }, rgb224)).toThrowError(/needs a greyscale model/);
    expect(resolve('pad')).toThrowError(/must be an object/);
  });
});
