import { describe, expect, it } from 'vitest';
import { preprocessImage, resolvePreprocess } from '../../io/preprocess';
import type { VitConfig } from '../../model/config';
import { prepareInput, type RgbaImage } from './preprocess';

function rgba(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), 4 * (y * width + x));
  return { width, height, data };
}

const grey28: VitConfig = {
  hidden_size: 64,
  num_hidden_layers: 6,
  num_attention_heads: 2,
  intermediate_size: 128,
  image_size: 28,
  patch_size: 4,
  num_channels: 1,
  layer_norm_eps: 1e-6,
  id2label: { 0: 'a' },
  image_mean: [0.286],
  image_std: [0.353],
};
const bundledSpec = resolvePreprocess({
  config: grey28,
  layout: 'hf-vit',
  configJson: { hidden_size: 64, tokenscope_input: { pad_to_square: 'border_mean', invert_light_background: true } },
});

describe('prepareInput', () => {
  it('gives the pixels io/preprocess gives for the same RGBA bytes (the CLI path)', () => {
    const img = rgba(40, 30, (x, y) => [(x * 7) % 256, (y * 11) % 256, 200, 255]);
    const page = prepareInput(img, bundledSpec);
    const cli = preprocessImage({ width: 40, height: 30, channels: 4, data: img.data }, bundledSpec);
    expect(page.pixels).toEqual(cli.pixels);
    expect(page.u8).toEqual(cli.u8);
    expect(page.size).toBe(28);
    expect(page.channels).toBe(1);
  });

  it('lists every step, an inversion not applied marked as not run', () => {
    const dark = prepareInput(
      rgba(28, 28, () => [0, 0, 0, 255]),
      bundledSpec,
    );
    expect(dark.steps.map((s) => [s.op, s.ran])).toEqual([
      ['channels', true],
      ['invert', false],
      ['as-is', true],
      ['rescale', true],
      ['normalize', true],
    ]);
    expect(dark.steps[1].detail).toMatch(/not inverted: the background is dark/);
    const light = prepareInput(
      rgba(28, 28, () => [250, 250, 250, 255]),
      bundledSpec,
    );
    expect(light.steps[1]).toMatchObject({ op: 'invert', ran: true });
    expect(light.u8[0]).toBe(5);
  });

  it('refuses an image of no pixels with the image-unreadable code', () => {
    expect(() => prepareInput({ width: 0, height: 0, data: new Uint8Array(0) }, bundledSpec)).toThrowError(expect.objectContaining({ code: 'image-unreadable' }));
  });
});
