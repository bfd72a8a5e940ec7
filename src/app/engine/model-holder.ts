/**
 * One model on one TF.js backend, as both workers hold it. Owns the weight tensors until the next
 * model or backend. Weights are kept as plain arrays besides the tensors, so switching backends
 * rebuilds them on the new backend without reloading files. No DOM; runs in Node too.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../../errors';
import { toTimmNames } from '../../io/checkpoint-names';
import { parseSafetensors } from '../../io/safetensors';
import type { BackendName } from '../../model/backend';
import { parseConfig, type VitConfig } from '../../model/config';
import { type Model, warmUp } from '../../model/run';
import { listWeights, type NamedArrays, randomWeights, weightsFromTimm, weightsToTimm } from '../../model/weights';
import type { ModelInfo, ModelSource, RunInput } from '../worker/protocol';
import { fetchBytes as defaultFetch } from './fetch-bytes';

export interface ModelHolderOptions {
  /** Switches TF.js to a backend (throws 'backend-unavailable'). */
  useBackend(name: BackendName): Promise<void>;
  fetchBytes?(url: string): Promise<Uint8Array>;
}

/** The files a model was read from: null where the source had none (random weights, a config given as JSON). */
export interface ReadBytes {
  config: Uint8Array | null;
  weights: Uint8Array | null;
}

/** One image as the model's input tensor, [1, S, S, C]; throws 'shape-mismatch' if it was prepared for another size. */
export function inputTensor(config: VitConfig, input: RunInput): tf.Tensor4D {
  const S = config.image_size;
  const C = config.num_channels;
  if (input.size !== S || input.channels !== C || input.pixels.length !== S * S * C) {
    throw new TokenScopeError('shape-mismatch', `the model reads ${S}×${S}×${C} pixels; the image was prepared as ${input.size}×${input.size}×${input.channels}`);
  }
  return tf.tensor4d(input.pixels, [1, S, S, C]);
}

export class ModelHolder {
  private arrays: NamedArrays | null = null;
  private model: Model | null = null;
  private info: ModelInfo | null = null;
  private backend: BackendName | null = null;

  constructor(private readonly options: ModelHolderOptions) {}

  get activeBackend(): BackendName | null {
    return this.backend;
  }

  /**
   * Disposes the current model, then loads `source` on the current backend. `onRead` sees the
   * files' bytes before the weights are built.
   */
  async load(source: ModelSource, onRead?: (bytes: ReadBytes) => Promise<void>): Promise<ModelInfo> {
    if (!this.backend) throw new TokenScopeError('internal', 'choose a backend before loading a model');
    this.dispose();
    const fetchBytes = this.options.fetchBytes ?? defaultFetch;
    let config: VitConfig;
    let arrays: NamedArrays;
    let bytes: ReadBytes = { config: null, weights: null };
    if (source.kind === 'random') {
      config = parseConfig(source.configJson);
      const weights = randomWeights(config, source.seed);
      try {
        arrays = await weightsToTimm(config, weights);
      } finally {
        tf.dispose(listWeights(weights));
      }
    } else {
      const [configBytes, weightBytes] =
        source.kind === 'url' ? await Promise.all([fetchBytes(source.configUrl), fetchBytes(source.weightsUrl)]) : [null, source.safetensors];
      let configJson: unknown = source.kind === 'files' ? source.configJson : undefined;
      if (configBytes) {
        try {
          configJson = JSON.parse(new TextDecoder().decode(configBytes));
        } catch (e) {
          throw new TokenScopeError('shape-mismatch', `${source.name}: config.json is not valid JSON (${(e as Error).message})`);
        }
      }
      config = parseConfig(configJson);
      const file = parseSafetensors(weightBytes);
      const named: NamedArrays = new Map();
      for (const [name, t] of file.tensors) named.set(name, { shape: t.shape, data: t.data });
      arrays = toTimmNames(named);
      bytes = { config: configBytes, weights: weightBytes };
    }
    await onRead?.(bytes);
    this.model = { config, weights: weightsFromTimm(config, arrays) }; // checks every shape
    await warmUp(this.model, []); // per-head attention layout where the backend uses it
    this.arrays = arrays;
    let parameters = 0;
    for (const { data } of arrays.values()) parameters += data.length;
    this.info = { name: source.name, config, untrained: source.kind === 'random', parameters };
    return this.info;
  }

  /** Switches backend, rebuilding the weights there; throws 'backend-unavailable'. */
  async useBackend(name: BackendName): Promise<void> {
    await this.options.useBackend(name);
    // A backend can start and still fail its first kernel (shader compilation): try one.
    const probe = tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])));
    try {
      await probe.data();
    } catch (e) {
      throw new TokenScopeError('backend-unavailable', `TF.js backend '${name}' started but could not run a matrix product: ${(e as Error).message}`);
    } finally {
      probe.dispose();
    }
    this.backend = name;
    if (this.model && this.arrays && this.info) {
      tf.dispose(listWeights(this.model.weights));
      this.model = null;
      this.model = { config: this.info.config, weights: weightsFromTimm(this.info.config, this.arrays) };
      await warmUp(this.model, []);
    }
  }

  /** The loaded model and what it is; throws 'internal' before one has loaded. */
  requireModel(): { model: Model; info: ModelInfo } {
    if (!this.model || !this.info) throw new TokenScopeError('internal', 'no model is loaded yet');
    return { model: this.model, info: this.info };
  }

  dispose(): void {
    if (this.model) tf.dispose(listWeights(this.model.weights));
    this.model = null;
    this.arrays = null;
    this.info = null;
  }
}
