/**
 * Training checkpoints (Node only). A run directory holds:
 *
 *   epoch-NNN.safetensors   the weights after epoch NNN (timm names, F32), one per epoch
 *   state-SSSSSSS.safetensors  everything needed to resume at step SSSSSSS: the weights plus the
 *                           AdamW moments, named `m/<name>` and `v/<name>` in the model's
 *                           internal layout (linear weights [in, out])
 *   state.json              the resume pointer: which state file, epoch, batch, step, the options of
 *                           the run and its history; written last, so it always names a complete file
 *
 * Every file is written to a temporary name in the same directory and renamed into place, so an
 * interrupted write never leaves a half-written file under a real name.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import { readFileBytes } from '../io/node-files';
import { parseSafetensors, writeSafetensors, type SafetensorsTensorInput } from '../io/safetensors';
import type { VitConfig } from '../model/config';
import { listWeights, weightsFromTimm, weightsToTimm, type NamedArrays } from '../model/weights';
import type { AdamW } from './adamw';
import type { TrainableParams } from './params';

export const STATE_FORMAT = 'tokenscope-train-state';
export const STATE_VERSION = 1;

/** Where the run stands and how it was set up; everything `--resume` needs besides the tensors. */
export interface TrainState<Options = unknown> {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  /** Name of the state safetensors file in the same directory. */
  tensors: string;
  config: VitConfig;
  options: Options;
  /** Size of the training set; a resume must see the same data. */
  trainImages?: number;
  /** Epoch in progress (0-based) and the next batch to run in it; batch 0 = the epoch has not started. */
  epoch: number;
  batch: number;
  /** Optimizer updates done so far. */
  step: number;
  /** Randomness is a pure function of (seed, epoch, batch): see train/rng.ts. */
  rng: { seed: number; scheme: string };
  /** Running sums for the epoch in progress (so a resumed epoch reports the same averages). */
  partial: { lossSum: number; correct: number; seen: number; seconds: number };
  history: EpochRecord[];
  /**
   * Length changes on resume (`--epochs` with `--resume`): from `step` on, the rate follows a new
   * cosine from `lr` (the old schedule's rate there) to the floor at the new end.
   */
  changes?: { step: number; lr: number; epochs: { from: number; to: number } }[];
  /** Training wall time so far, summed over sessions. */
  elapsedSeconds: number;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number | null;
  seconds: number;
  lr: number;
}

/** Writes `bytes` to `path` through a temporary file and a rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

function toInputs(named: NamedArrays, prefix = ''): Record<string, SafetensorsTensorInput> {
  const out: Record<string, SafetensorsTensorInput> = {};
  for (const [name, { shape, data }] of named) out[prefix + name] = { dtype: 'F32', shape, data };
  return out;
}

/** The weights as timm-named F32 safetensors bytes. */
export async function weightsFileBytes(config: VitConfig, params: TrainableParams, metadata?: Record<string, string>): Promise<Uint8Array> {
  return writeSafetensors(toInputs(await weightsToTimm(config, params.weights)), metadata);
}

async function moments(params: TrainableParams, opt: AdamW): Promise<Record<string, SafetensorsTensorInput>> {
  const out: Record<string, SafetensorsTensorInput> = {};
  for (const [i, name] of params.names.entries()) {
    out[`m/${name}`] = { dtype: 'F32', shape: opt.m[i].shape.slice(), data: (await opt.m[i].data()) as Float32Array };
    out[`v/${name}`] = { dtype: 'F32', shape: opt.v[i].shape.slice(), data: (await opt.v[i].data()) as Float32Array };
  }
  return out;
}

/**
 * Saves the resumable state: tensors first, then state.json pointing at them (and `state.tensors`
 * is updated to match); removes older state files.
 */
export async function saveState<O>(dir: string, params: TrainableParams, opt: AdamW, state: TrainState<O>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensorsName = `state-${String(state.step).padStart(7, '0')}.safetensors`;
  const named = await weightsToTimm(state.config, params.weights);
  const bytes = writeSafetensors({ ...toInputs(named), ...(await moments(params, opt)) }, { step: String(state.step) });
  writeFileAtomic(join(dir, tensorsName), bytes);
  state.tensors = tensorsName;
  writeFileAtomic(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  for (const f of readdirSync(dir)) {
    if (/^state-\d+\.safetensors$/.test(f) && f !== tensorsName) rmSync(join(dir, f), { force: true });
  }
}

/** Saves the weights after `epoch` (1-based count of finished epochs) as epoch-NNN.safetensors. */
export async function saveEpochWeights(dir: string, config: VitConfig, params: TrainableParams, epoch: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `epoch-${String(epoch).padStart(3, '0')}.safetensors`);
  writeFileAtomic(path, await weightsFileBytes(config, params, { epoch: String(epoch), format: 'pt' }));
  return path;
}

/** Reads state.json; throws 'data-missing' when there is none and 'data-malformed' when it is not ours. */
export function readState<O>(dir: string): TrainState<O> {
  const path = join(dir, 'state.json');
  if (!existsSync(path)) {
    throw new TokenScopeError('data-missing', `${path} does not exist: nothing to resume in ${dir} (start without --resume, or pass the --out of an earlier run)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(readFileBytes(path)));
  } catch (e) {
    throw new TokenScopeError('data-malformed', `${path} is not valid JSON (${(e as Error).message})`);
  }
  const s = raw as Partial<TrainState<O>>;
  if (s.format !== STATE_FORMAT || s.version !== STATE_VERSION || typeof s.tensors !== 'string' || typeof s.step !== 'number') {
    throw new TokenScopeError('data-malformed', `${path} is not a ${STATE_FORMAT} v${STATE_VERSION} file`);
  }
  return s as TrainState<O>;
}

/** Restores weights and AdamW moments from the state's tensors file into existing variables. */
export function restoreTensors(dir: string, state: TrainState, params: TrainableParams, opt: AdamW): void {
  const file = parseSafetensors(readFileBytes(join(dir, state.tensors)));
  const named: NamedArrays = new Map();
  for (const [name, t] of file.tensors) if (!name.startsWith('m/') && !name.startsWith('v/')) named.set(name, { shape: t.shape, data: t.data });
  const loaded = weightsFromTimm(state.config, named);
  try {
    const src = listWeights(loaded);
    params.variables.forEach((v, i) => v.assign(src[i]));
  } finally {
    tf.dispose(listWeights(loaded));
  }
  for (const [i, name] of params.names.entries()) {
    for (const [kind, vars] of [
      ['m', opt.m],
      ['v', opt.v],
    ] as const) {
      const t = file.tensors.get(`${kind}/${name}`);
      if (!t || t.data.length !== vars[i].size) {
        throw new TokenScopeError('data-malformed', `${join(dir, state.tensors)}: optimizer moment '${kind}/${name}' is missing or has the wrong size`);
      }
      tf.tidy(() => vars[i].assign(tf.tensor(t.data, vars[i].shape)));
    }
  }
  opt.step = state.step;
}
