/**
 * One model on one TF.js backend, as both workers hold it. Owns the weight tensors until the next
 * model or backend. Weights are kept as plain arrays besides the tensors, so switching backends
 * rebuilds them on the new backend without reloading files. No DOM; runs in Node too.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../../errors';
import { disposeCheckpoint, loadCheckpoint, type LoadedCheckpoint } from '../../io/checkpoint';
import { resolvePreprocess } from '../../io/preprocess';
import type { BackendName } from '../../model/backend';
import { parseConfig, type VitConfig } from '../../model/config';
import { type Model, warmUp } from '../../model/run';
import { listWeights, type NamedArrays, randomWeights, weightsFromTimm, weightsToTimm } from '../../model/weights';
import type { ModelInfo, ModelOrigin, ModelSource, RunInput } from '../worker/protocol';
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

/**
 * A failed allocation while building a model (a RangeError from an ArrayBuffer, a GPU out-of-memory
 * message) as a 'model-too-large' error that says what to try; other errors pass unchanged.
 */
export function asLoadError(e: unknown, name: string, backend: BackendName): unknown {
  if (e instanceof TokenScopeError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError || /out of memory|allocation failed|failed to allocate|oom\b/i.test(message)) {
    return new TokenScopeError(
      'model-too-large',
      `${name} does not fit in this device's memory on the ${backend} backend (${message}); try a smaller model (DeiT-Tiny, ViT-Tiny) or another backend`,
    );
  }
  return e;
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
   * Loads `source` on the current backend and, once it has loaded, disposes the previous model:
   * a file that is not a ViT, a config that contradicts the weights or a failed download leaves
   * the running model as it was. `onRead` sees the files' bytes before the weights are built.
   */
  async load(source: ModelSource, onRead?: (bytes: ReadBytes) => Promise<void>): Promise<ModelInfo> {
    if (!this.backend) throw new TokenScopeError('internal', 'choose a backend before loading a model');
    const backend = this.backend;
    const { loaded, bytes, origin } = await this.read(source).catch((e: unknown) => {
      throw asLoadError(e, source.name, backend);
    });
    try {
      await onRead?.(bytes);
      await warmUp(loaded.model, []); // per-head attention layout where the backend uses it
    } catch (e) {
      disposeCheckpoint(loaded);
      throw asLoadError(e, source.name, backend);
    }
    this.dispose();
    this.model = loaded.model;
    this.arrays = loaded.arrays;
    let parameters = 0;
    for (const { data } of loaded.arrays.values()) parameters += data.length;
    this.info = {
      name: source.name,
      origin,
      config: loaded.config,
      untrained: source.kind === 'random',
      parameters,
      preprocess: loaded.preprocess,
      notes: loaded.notes,
    };
    return this.info;
  }

  /** The checkpoint of a source, weights built on the current backend (the caller owns them). */
  private async read(source: ModelSource): Promise<{ loaded: LoadedCheckpoint; bytes: ReadBytes; origin: ModelOrigin }> {
    if (source.kind === 'random') {
      const config = parseConfig(source.configJson);
      const weights = randomWeights(config, source.seed);
      let arrays: NamedArrays;
      try {
        arrays = await weightsToTimm(config, weights);
      } finally {
        tf.dispose(listWeights(weights));
      }
      const preprocess = resolvePreprocess({ config, layout: 'hf-vit', configJson: source.configJson });
      const loaded: LoadedCheckpoint = {
        model: { config, weights: weightsFromTimm(config, arrays) },
        arrays,
        config,
        layout: 'hf-vit',
        configSource: 'config.json',
        preprocess,
        notes: ['Seeded random weights: predictions mean nothing.', ...preprocess.notes],
      };
      return { loaded, bytes: { config: null, weights: null }, origin: { kind: 'random' } };
    }
    if (source.kind === 'files') {
      const loaded = loadCheckpoint(source.files);
      const config = source.files.config === undefined ? null : new TextEncoder().encode(JSON.stringify(source.files.config));
      return { loaded, bytes: { config, weights: source.files.safetensors }, origin: source.origin };
    }
    const fetchBytes = this.options.fetchBytes ?? defaultFetch;
    const [configBytes, weightBytes, preprocessorBytes] = await Promise.all([
      fetchBytes(source.configUrl),
      fetchBytes(source.weightsUrl),
      source.preprocessorUrl ? fetchBytes(source.preprocessorUrl) : Promise.resolve(null),
    ]);
    const json = (bytes: Uint8Array, file: string): unknown => {
      try {
        return JSON.parse(new TextDecoder().decode(bytes));
      } catch (e) {
        throw new TokenScopeError('shape-mismatch', `${source.name}: ${file} is not valid JSON (${(e as Error).message})`);
      }
    };
    const loaded = loadCheckpoint({
      safetensors: weightBytes,
      config: json(configBytes, 'config.json'),
      preprocessor: preprocessorBytes ? json(preprocessorBytes, 'preprocessor_config.json') : undefined,
    });
    return { loaded, bytes: { config: configBytes, weights: weightBytes }, origin: source.origin };
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
