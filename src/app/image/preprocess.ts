/**
 * The page's model input: the browser's RGBA picture through the model's own pipeline
 * (io/preprocess.ts, the very function `tokenscope predict` calls), kept with its 8-bit form and
 * each step in words for the "model input" view and the exports.
 */
import { describeStep, preprocessImage, type PreprocessSpec, type PreprocessStep } from '../../io/preprocess';

/** An RGBA picture, row-major, 4 bytes per pixel (what a canvas gives). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** One preprocessing step as the page lists it. */
export interface InputStep {
  op: PreprocessStep['op'];
  /** False for a step that was considered and not applied (a dark background is not inverted). */
  ran: boolean;
  detail: string;
}

export interface ModelInput {
  size: number;
  channels: number;
  /** [S, S, C] 8-bit values: what the model sees before normalisation. */
  u8: Uint8Array;
  /** [S, S, C] normalised floats: what the model reads. */
  pixels: Float32Array;
  steps: InputStep[];
}

/** Prepares a picture for a model with `spec` (ModelInfo.preprocess); throws TokenScopeError for a bad image. */
export function prepareInput(image: RgbaImage, spec: PreprocessSpec): ModelInput {
  const { pixels, u8, steps } = preprocessImage({ width: image.width, height: image.height, channels: 4, data: image.data }, spec);
  return {
    size: spec.inputSize,
    channels: spec.channels,
    u8,
    pixels,
    steps: steps.map((s) => ({ op: s.op, ran: s.op !== 'invert' || s.applied, detail: describeStep(s) })),
  };
}
