/**
 * The ImageFolder fixture (tests/fixtures/image-folder, written once by Pillow: make.py) and a
 * small random timm checkpoint whose labels name its class folders: DeiT-shaped (CLS token,
 * pre-norm blocks, timm preprocessing with crop_pct 0.9, bicubic), 32 px so tests stay fast.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VitConfig } from '../../src/model/config';
import { encodeCheckpoint, randomTimmArrays, timmConfigJson } from './checkpoints';

export const FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'image-folder');
export const FIXTURE_IMAGES = join(FIXTURE_DIR, 'images');

export interface FixtureImage {
  file: string;
  mode: string;
  width: number;
  height: number;
  resized: [number, number];
  crop: [number, number];
}

export const fixtureManifest = (): { input_size: number; crop_pct: number; images: FixtureImage[] } =>
  JSON.parse(readFileSync(join(FIXTURE_DIR, 'expected', 'manifest.json'), 'utf8'));

const stem = (file: string) => file.replace('/', '__');
/** Pillow's Image.open(f).convert('RGB') pixels of a fixture image. */
export const pillowDecoded = (file: string) => new Uint8Array(readFileSync(join(FIXTURE_DIR, 'expected', `${stem(file)}.decoded.rgb`)));
/** Pillow's pixels after timm's Resize(35, bicubic) + CenterCrop(32): [32][32][3] bytes. */
export const pillowInput = (file: string) => new Uint8Array(readFileSync(join(FIXTURE_DIR, 'expected', `${stem(file)}.input.rgb`)));

/** The labels, deliberately not in folder order, so the names rule and the sorted rule differ. */
export const FIXTURE_LABELS = ['ship', 'T-shirt/top', 'cat', 'dog'];

export const fixtureConfig: VitConfig = {
  hidden_size: 64,
  num_hidden_layers: 4,
  num_attention_heads: 1,
  intermediate_size: 128,
  image_size: 32,
  patch_size: 8,
  num_channels: 3,
  layer_norm_eps: 1e-6,
  id2label: Object.fromEntries(FIXTURE_LABELS.map((l, i) => [String(i), l])),
  distilled: false,
};

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Writes the checkpoint as timm publishes one (model.safetensors + config.json) into `dir`. */
export function writeFixtureModel(dir: string, seed = 5) {
  const timm = randomTimmArrays(fixtureConfig, seed);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), encodeCheckpoint(timm, 'F32'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(timmConfigJson('deit_tiny_patch16_224', FIXTURE_LABELS.length, 32, { label_names: FIXTURE_LABELS })));
  return timm;
}
