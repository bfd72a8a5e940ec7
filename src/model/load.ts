/**
 * Loading a model from its two files: config.json (Hugging Face ViTConfig names) and
 * model.safetensors (timm, Hugging Face ViT or DeiT tensor names). Pure and browser-safe: bytes in,
 * a Model out; fetching or reading the files is the caller's business (see load-node.ts for Node).
 */
import { toTimmNames } from '../io/checkpoint-names';
import { parseSafetensors } from '../io/safetensors';
import { parseConfig } from './config';
import type { Model } from './run';
import { weightsFromTimm, type NamedArrays } from './weights';

/**
 * Parses and checks both files and builds the weights (tensors the caller owns: dispose them with
 * `tf.dispose(listWeights(model.weights))`). Throws 'shape-mismatch' for a bad config or a tensor
 * of the wrong shape and 'safetensors-malformed' for a damaged file.
 */
export function loadModelFromFiles(configJson: unknown, safetensorsBytes: Uint8Array): Model {
  const config = parseConfig(configJson);
  const file = parseSafetensors(safetensorsBytes);
  const named: NamedArrays = new Map();
  for (const [name, t] of file.tensors) named.set(name, { shape: t.shape, data: t.data });
  return { config, weights: weightsFromTimm(config, toTimmNames(named)) };
}
