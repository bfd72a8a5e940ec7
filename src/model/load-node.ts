/** Node helper: loads a model directory holding config.json and model.safetensors. */
import { join } from 'node:path';
import { TokenScopeError } from '../errors';
import { readFileBytes } from '../io/node-files';
import { loadModelFromFiles } from './load';
import type { Model } from './run';

/** Reads `<dir>/config.json` and `<dir>/model.safetensors`; see loadModelFromFiles. */
export function loadModelDir(dir: string): Model {
  const configPath = join(dir, 'config.json');
  const hint = 'a model directory needs config.json and model.safetensors (the bundled one is models/fmnist-vit)';
  let configJson: unknown;
  const text = new TextDecoder().decode(readFileBytes(configPath, hint));
  try {
    configJson = JSON.parse(text);
  } catch (e) {
    throw new TokenScopeError('data-malformed', `${configPath} is not valid JSON (${(e as Error).message})`, { path: configPath });
  }
  return loadModelFromFiles(configJson, readFileBytes(join(dir, 'model.safetensors'), hint));
}
