/**
 * One entry point for every pretrained ViT/DeiT checkpoint: bytes in, a model out (browser, worker
 * and Node alike; fetching or reading the files is the caller's business, see hub.ts).
 *
 *   loadCheckpoint({ safetensors, config?, preprocessor? })
 *     1. parse the safetensors file (hardened reader: every malformation is 'safetensors-malformed')
 *     2. recognise the layout (timm, Hugging Face ViT `vit.`, HF DeiT `deit.`) and rename to timm
 *     3. the configuration: a Hugging Face config.json when there is one (hidden_size, …); else it
 *        is inferred from the tensor shapes (infer-config.ts), taking class names from a timm
 *        config.json when it has them
 *     4. the weights, each checked against the configuration ('shape-mismatch' names the tensor)
 *     5. the preprocessing the checkpoint asks for (preprocess.ts)
 *
 * Everything assumed or ignored along the way is a sentence in `notes`, for the UI to show.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import { numLabels, parseConfig, type VitConfig } from '../model/config';
import type { Model } from '../model/run';
import { listWeights, weightsFromTimm, type NamedArrays } from '../model/weights';
import { detectLayout, toTimmNames, type CheckpointLayout } from './checkpoint-names';
import { blockCount, inferConfig } from './infer-config';
import { resolvePreprocess, type PreprocessSpec } from './preprocess';
import { parseSafetensors, type SafetensorsReadOptions } from './safetensors';

export interface CheckpointFiles {
  /** The bytes of model.safetensors. */
  safetensors: Uint8Array;
  /** config.json, parsed: a Hugging Face ViT/DeiT config or a timm config (architecture, pretrained_cfg). */
  config?: unknown;
  /** preprocessor_config.json, parsed (Hugging Face image processor), when there is one. */
  preprocessor?: unknown;
}

export type ConfigSource = 'config.json' | 'tensor shapes';

export interface LoadedCheckpoint {
  /** Weights are tensors the caller owns: `disposeCheckpoint(result)` or `tf.dispose(listWeights(model.weights))`. */
  model: Model;
  /** The same weights as plain timm-named arrays (views of the file where it stores float32), to rebuild them on another backend. */
  arrays: NamedArrays;
  config: VitConfig;
  /** Plain-language statements of what was assumed, inferred or ignored. */
  notes: string[];
  layout: CheckpointLayout;
  /** Where the architecture numbers came from. */
  configSource: ConfigSource;
  preprocess: PreprocessSpec;
}

export interface LoadCheckpointOptions {
  /** Passed to the safetensors reader (header and tensor size caps). */
  read?: SafetensorsReadOptions;
}

const LAYOUT_NAMES: Record<CheckpointLayout, string> = {
  timm: 'timm',
  'hf-vit': 'Hugging Face ViT',
  'hf-deit': 'Hugging Face DeiT',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A Hugging Face ViTConfig / DeiTConfig carries the architecture numbers itself. */
function isHfConfig(raw: unknown): raw is Record<string, unknown> {
  return isObject(raw) && 'hidden_size' in raw;
}

/** timm's config.json: { architecture, num_classes, num_features, pretrained_cfg, label_names? }. */
function isTimmConfig(raw: unknown): raw is Record<string, unknown> {
  return isObject(raw) && ('pretrained_cfg' in raw || 'architecture' in raw);
}

/** The timm names the model reads for `config` (everything else in a checkpoint is unused). */
function expectedNames(config: VitConfig): Set<string> {
  const names = ['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias', 'norm.weight', 'norm.bias', 'head.weight', 'head.bias'];
  if (config.distilled) names.push('dist_token', 'head_dist.weight', 'head_dist.bias');
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const part of ['norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2']) names.push(`blocks.${l}.${part}.weight`, `blocks.${l}.${part}.bias`);
  }
  return new Set(names);
}

/**
 * Checks the counts in a Hugging Face config.json against the file before anything is sized
 * from them, so a hostile config cannot make us allocate without bound: the block count must not
 * exceed the blocks present, and a label count without id2label must match the classifier.
 */
function checkConfigAgainstTensors(raw: Record<string, unknown>, named: NamedArrays): void {
  const layers = raw.num_hidden_layers;
  if (typeof layers === 'number' && Number.isInteger(layers) && layers > 0) {
    let present: number;
    try {
      present = blockCount(named);
    } catch {
      present = 0;
    }
    if (layers > present) {
      throw new TokenScopeError(
        'shape-mismatch',
        `checkpoint is missing tensor 'blocks.${present}.norm1.weight': config.json says ${layers} blocks but the file has ${present}`,
        { tensor: `blocks.${present}.norm1.weight` },
      );
    }
  }
  const labels = raw.num_labels;
  const head = named.get('head.weight');
  const hasNames = typeof raw.id2label === 'object' && raw.id2label !== null && !Array.isArray(raw.id2label);
  if (!hasNames && typeof labels === 'number' && head && labels !== head.shape[0]) {
    throw new TokenScopeError('shape-mismatch', `config.json says num_labels ${labels} but tensor 'head.weight' has ${head.shape[0]} rows`, {
      tensor: 'head.weight',
    });
  }
  if (!hasNames && labels === undefined && head && head.shape[0] !== 1000) {
    throw new TokenScopeError('shape-mismatch', `config.json names no labels (so 1,000 are assumed) but tensor 'head.weight' has ${head.shape[0]} rows`, {
      tensor: 'head.weight',
    });
  }
}

/** Rejects NaN and infinite weights: a released checkpoint has none, so the file is damaged. */
function checkFinite(named: NamedArrays, used: Set<string>): void {
  for (const name of used) {
    const entry = named.get(name);
    if (!entry) continue;
    const data = entry.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new TokenScopeError(
          'data-malformed',
          `tensor '${name}' holds a non-finite value (${data[i]}) at element ${i}; the checkpoint is damaged, download or export it again`,
          { tensor: name, index: i },
        );
      }
    }
  }
}

function labelNamesOf(timmConfig: Record<string, unknown>): string[] | undefined {
  const names = timmConfig.label_names;
  return Array.isArray(names) && names.every((n) => typeof n === 'string') ? (names as string[]) : undefined;
}

/** Loads a checkpoint from its files; see the module comment. Throws TokenScopeError only. */
export function loadCheckpoint(files: CheckpointFiles, opts: LoadCheckpointOptions = {}): LoadedCheckpoint {
  if (!(files.safetensors instanceof Uint8Array)) {
    throw new TokenScopeError('safetensors-malformed', 'no safetensors bytes were given; choose a .safetensors file');
  }
  const file = parseSafetensors(files.safetensors, opts.read);
  const raw: NamedArrays = new Map();
  for (const [name, t] of file.tensors) raw.set(name, { shape: t.shape, data: t.data });
  const layout = detectLayout(raw.keys());
  const named = toTimmNames(raw);
  const notes: string[] = [`Tensor names: ${LAYOUT_NAMES[layout]} layout.`];
  const dtypes = new Set([...file.tensors.values()].map((t) => t.dtype));
  if (!dtypes.has('F32') || dtypes.size > 1) notes.push(`Stored as ${[...dtypes].join(' and ')}; computed in float32.`);

  let config: VitConfig;
  let configSource: ConfigSource;
  const given = files.config;
  if (isHfConfig(given)) {
    checkConfigAgainstTensors(given, named);
    config = parseConfig(given);
    configSource = 'config.json';
    if (!config.distilled && named.has('dist_token')) {
      config = { ...config, distilled: true };
      notes.push('Distillation token found (DeiT distilled): the prediction averages the class-token and distillation-token heads.');
    }
  } else if (given === undefined || given === null || isTimmConfig(given)) {
    const timmCfg = isTimmConfig(given) ? given : undefined;
    const inferred = inferConfig(named, { labelNames: timmCfg ? labelNamesOf(timmCfg) : undefined });
    config = inferred.config;
    configSource = 'tensor shapes';
    notes.push(
      timmCfg
        ? `Architecture read from the tensor shapes (timm's config.json${typeof timmCfg.architecture === 'string' ? ` names ${timmCfg.architecture}` : ''} but not its widths).`
        : 'No config.json: the architecture was read from the tensor shapes.',
      ...inferred.notes,
    );
    if (timmCfg && typeof timmCfg.num_classes === 'number' && timmCfg.num_classes !== numLabels(config)) {
      notes.push(`config.json says ${timmCfg.num_classes} classes but the classifier has ${numLabels(config)}; the classifier's count is used.`);
    }
  } else {
    throw new TokenScopeError(
      'shape-mismatch',
      'config.json is not recognised: expected a Hugging Face ViT/DeiT config (with hidden_size, num_hidden_layers, …) or a timm config (with architecture and pretrained_cfg); load the .safetensors file alone to infer the architecture',
    );
  }

  const used = expectedNames(config); // bounded: the depth was checked against the blocks present
  checkFinite(named, used);
  const unused = [...named.keys()].filter((n) => !used.has(n));
  if (unused.length > 0) {
    notes.push(`${unused.length} tensor${unused.length === 1 ? '' : 's'} not used by the model: ${unused.slice(0, 4).join(', ')}${unused.length > 4 ? ', …' : ''}.`);
  }
  // The weights first: they check every number of the config against the tensors, so nothing
  // after this is sized by an unchecked number.
  const weights = weightsFromTimm(config, named);
  let preprocess: PreprocessSpec;
  try {
    preprocess = resolvePreprocess({ config, layout, configJson: given, preprocessorJson: files.preprocessor });
  } catch (e) {
    tf.dispose(listWeights(weights));
    throw e;
  }
  return { model: { config, weights }, arrays: named, config, notes: [...notes, ...preprocess.notes], layout, configSource, preprocess };
}

/** Disposes the tensors of a loaded checkpoint. */
export function disposeCheckpoint(loaded: { model: Model }): void {
  tf.dispose(listWeights(loaded.model.weights));
}

/** A picked file: a browser File, or anything with a name and the Blob reading method. */
export interface NamedBlob {
  name: string;
  size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Largest checkpoint read: ViT-L/16 in float32 is 1.2 GB; anything larger would not run in a
 * browser tab, so it is refused before a byte is read.
 */
export const MAX_CHECKPOINT_BYTES = 1_300_000_000;

/** Largest JSON file read from a picked file (config.json of ImageNet models is about 70 kB). */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

async function readJson(file: NamedBlob): Promise<unknown> {
  if (file.size > MAX_JSON_BYTES) throw new TokenScopeError('data-malformed', `${file.name} is ${file.size} bytes, too large for a config file`);
  const text = new TextDecoder().decode(await file.arrayBuffer());
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenScopeError('data-malformed', `${file.name} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * "Load from files": one .safetensors file, optionally with config.json and
 * preprocessor_config.json (matched by name; any other *.json is taken as the config).
 */
export async function readCheckpointFiles(picked: readonly NamedBlob[]): Promise<CheckpointFiles> {
  const weights = picked.filter((f) => f.name.toLowerCase().endsWith('.safetensors'));
  if (weights.length !== 1) {
    throw new TokenScopeError(
      'data-missing',
      weights.length === 0 ? 'choose one .safetensors file (and, if you have it, its config.json)' : `choose one .safetensors file, not ${weights.length}`,
    );
  }
  if (weights[0].size > MAX_CHECKPOINT_BYTES) {
    throw new TokenScopeError(
      'model-too-large',
      `${weights[0].name} is ${(weights[0].size / 1e9).toFixed(2)} GB; TokenScope runs checkpoints up to ${MAX_CHECKPOINT_BYTES / 1e9} GB in the browser (ViT-L/16 in float32 is 1.2 GB, DeiT-S 88 MB)`,
    );
  }
  const jsons = picked.filter((f) => f.name.toLowerCase().endsWith('.json'));
  const preprocessorFile = jsons.find((f) => /preprocessor_config\.json$/i.test(f.name));
  const configFile = jsons.find((f) => /(^|\/)config\.json$/i.test(f.name)) ?? jsons.find((f) => f !== preprocessorFile);
  return {
    safetensors: new Uint8Array(await weights[0].arrayBuffer()),
    config: configFile ? await readJson(configFile) : undefined,
    preprocessor: preprocessorFile ? await readJson(preprocessorFile) : undefined,
  };
}
