/**
 * The model the page starts with. The trained model lives in models/fmnist-vit/ (config.json +
 * model.safetensors, Hugging Face ViT names); Vite finds it with a glob, serves it in dev and
 * copies it into the build, so the page switches to it as soon as the files exist. Until then the
 * seeded random stand-in of fallback.ts runs, marked untrained.
 */
import type { ModelSource } from '../worker/protocol';
import { FALLBACK_CONFIG_JSON, FALLBACK_SEED } from './fallback';

const files = import.meta.glob('/models/fmnist-vit/{config.json,model.safetensors,preprocessor_config.json}', {
  query: '?url',
  import: 'default',
  eager: true,
}) as Record<string, string>;

/** Absolute URL (workers resolve relative URLs against their own script, not the page). */
const absolute = (url: string) => new URL(url, document.baseURI).href;

export const BUNDLED_MODEL_NAME = 'fmnist-vit (bundled)';

export function bundledModelSource(): Exclude<ModelSource, { kind: 'files' }> {
  const configUrl = files['/models/fmnist-vit/config.json'];
  const weightsUrl = files['/models/fmnist-vit/model.safetensors'];
  if (configUrl && weightsUrl) {
    const preprocessorUrl = files['/models/fmnist-vit/preprocessor_config.json'];
    return {
      kind: 'url',
      name: BUNDLED_MODEL_NAME,
      origin: { kind: 'bundled' },
      configUrl: absolute(configUrl),
      weightsUrl: absolute(weightsUrl),
      ...(preprocessorUrl ? { preprocessorUrl: absolute(preprocessorUrl) } : {}),
    };
  }
  return { kind: 'random', name: 'fmnist-vit shape, random weights', configJson: FALLBACK_CONFIG_JSON, seed: FALLBACK_SEED };
}
