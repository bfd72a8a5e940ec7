/**
 * The bundled-model artifact: config.json (Hugging Face ViTConfig field names, plus image_mean and
 * image_std, which parseConfig reads), preprocessor_config.json (Hugging Face ViTImageProcessor)
 * and model.safetensors (Hugging Face ViT tensor names, F32).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { timmToHfVit } from '../io/checkpoint-names';
import { writeSafetensors, type SafetensorsTensorInput } from '../io/safetensors';
import type { VitConfig } from '../model/config';
import type { NamedArrays } from '../model/weights';
import { writeFileAtomic } from './checkpoint';

export const PREPROCESSING_NOTE =
  'Input: one 28x28 greyscale channel, Fashion-MNIST convention (light object on a black background). ' +
  'Pixels are scaled to [0, 1] (divide by 255), then normalised: (x - image_mean) / image_std. ' +
  'Other images must be converted to greyscale, resized to 28x28 and, if their background is light, inverted first.';

/** config.json as a plain object (HF ViTConfig names; TokenScope's parseConfig reads it). */
export function modelConfigJson(config: VitConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const label2id = Object.fromEntries(Object.entries(config.id2label).map(([k, v]) => [v, Number(k)]));
  return {
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
    hidden_size: config.hidden_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    intermediate_size: config.intermediate_size,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    initializer_range: 0.02,
    layer_norm_eps: config.layer_norm_eps,
    image_size: config.image_size,
    patch_size: config.patch_size,
    num_channels: config.num_channels,
    qkv_bias: true,
    id2label: config.id2label,
    label2id,
    image_mean: config.image_mean,
    image_std: config.image_std,
    // Read by io/preprocess.ts: any picture is padded and, on a light background, inverted first.
    tokenscope_input: { pad_to_square: 'border_mean', invert_light_background: config.num_channels === 1 },
    tokenscope_preprocessing: PREPROCESSING_NOTE,
    ...extra,
  };
}

export function preprocessorConfigJson(config: VitConfig): Record<string, unknown> {
  return {
    image_processor_type: 'ViTImageProcessor',
    do_resize: true,
    size: { height: config.image_size, width: config.image_size },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: config.image_mean,
    image_std: config.image_std,
  };
}

/** Writes the three files into `dir` (each through a temporary file and a rename). */
export function writeModelDir(dir: string, config: VitConfig, timm: NamedArrays, extra: Record<string, unknown> = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const hf = timmToHfVit(timm);
  const inputs: Record<string, SafetensorsTensorInput> = {};
  for (const [name, { shape, data }] of hf) inputs[name] = { dtype: 'F32', shape, data };
  const files = ['config.json', 'preprocessor_config.json', 'model.safetensors'].map((f) => join(dir, f));
  writeFileAtomic(files[0], `${JSON.stringify(modelConfigJson(config, extra), null, 2)}\n`);
  writeFileAtomic(files[1], `${JSON.stringify(preprocessorConfigJson(config), null, 2)}\n`);
  writeFileAtomic(files[2], writeSafetensors(inputs, { format: 'pt' }));
  return files;
}
