/**
 * The engine as the worker holds it: one model, one backend, and runs of (image, plan). Owns every
 * tensor it makes: weights until the next model or backend, a run's pixels and outputs until the
 * run ends. No DOM; runs in Node too (tests use the wasm backend).
 *
 * Weights are kept as plain arrays besides the tensors, so switching backends rebuilds them on
 * the new backend without reloading files.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../../errors';
import { toTimmNames } from '../../io/checkpoint-names';
import { parseSafetensors } from '../../io/safetensors';
import { planFlops, traceCounts } from '../../measure/plan-flops';
import type { BackendName } from '../../model/backend';
import { parseConfig, type VitConfig } from '../../model/config';
import { type Model, runForward, warmUp } from '../../model/run';
import { listWeights, type NamedArrays, randomWeights, weightsFromTimm, weightsToTimm } from '../../model/weights';
import { compilePlan, type Compiled } from '../../reduce/compile';
import { formatPlan, planFromText } from '../../reduce/plan';
import type { ModelInfo, ModelSource, RunInput, RunResult, Timing } from './protocol';

interface Baseline {
  counts: number[];
  logits: number[];
  flops: RunResult['baselineFlops'];
}

/** A run as the session sees it; the worker adds the backend report. */
export type SessionRun = Omit<RunResult, 'backendReport'>;

export interface SessionOptions {
  /** Switches TF.js to a backend (throws 'backend-unavailable'). */
  useBackend(name: BackendName): Promise<void>;
  fetchBytes?(url: string): Promise<Uint8Array>;
}

async function defaultFetch(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new TokenScopeError('data-missing', `could not load ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export class EngineSession {
  private arrays: NamedArrays | null = null;
  private model: Model | null = null;
  private info: ModelInfo | null = null;
  private backend: BackendName | null = null;
  /** The unreduced run per image key, for the current model and backend. */
  private baselines = new Map<string, Baseline>();

  constructor(private readonly options: SessionOptions) {}

  get activeBackend(): BackendName | null {
    return this.backend;
  }

  /** Disposes the current model, then loads `source` on the current backend. */
  async loadModel(source: ModelSource): Promise<ModelInfo> {
    if (!this.backend) throw new TokenScopeError('internal', 'choose a backend before loading a model');
    this.disposeModel();
    this.arrays = null;
    this.info = null;
    const fetchBytes = this.options.fetchBytes ?? defaultFetch;
    let config: VitConfig;
    let arrays: NamedArrays;
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
    }
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
    if (this.model && this.arrays) {
      this.disposeModel();
      this.model = { config: this.info!.config, weights: weightsFromTimm(this.info!.config, this.arrays) };
      await warmUp(this.model, []);
    }
  }

  private requireModel(): Model {
    if (!this.model || !this.info) throw new TokenScopeError('internal', 'no model is loaded yet');
    return this.model;
  }

  private compile(planText: string): { compiled: Compiled; canonical: string } {
    const { config } = this.requireModel();
    const plan = planFromText(planText, config.num_hidden_layers);
    return { compiled: compilePlan(plan, config), canonical: formatPlan(plan) };
  }

  private pixels(input: RunInput): tf.Tensor4D {
    const { config } = this.requireModel();
    const S = config.image_size;
    const C = config.num_channels;
    if (input.size !== S || input.channels !== C || input.pixels.length !== S * S * C) {
      throw new TokenScopeError('shape-mismatch', `the model reads ${S}×${S}×${C} pixels; the image was prepared as ${input.size}×${input.size}×${input.channels}`);
    }
    return tf.tensor4d(input.pixels, [1, S, S, C]);
  }

  private async baseline(input: RunInput, pixels: tf.Tensor4D): Promise<Baseline> {
    const cached = this.baselines.get(input.key);
    if (cached) return cached;
    const model = this.requireModel();
    const { compiled } = this.compile('none');
    const out = await runForward(model, pixels, compiled);
    const logits = Array.from(await out.logits.data());
    out.logits.dispose();
    const counts = traceCounts(out.traces[0]);
    const base = { counts, logits, flops: planFlops(model.config, compiled, counts) };
    if (this.baselines.size >= 16) this.baselines.delete(this.baselines.keys().next().value!);
    this.baselines.set(input.key, base);
    return base;
  }

  /** Runs `planText` on the image with fates recorded, plus the unreduced model (cached per image). */
  async run(input: RunInput, planText: string): Promise<SessionRun> {
    const model = this.requireModel();
    const { compiled, canonical } = this.compile(planText);
    const pixels = this.pixels(input);
    let result: SessionRun;
    try {
      const base = await this.baseline(input, pixels);
      const t0 = performance.now();
      const out = await runForward(model, pixels, compiled, { record: 'fates' });
      const logits = Array.from(await out.logits.data());
      out.logits.dispose();
      const firstRunMs = performance.now() - t0;
      const trace = out.traces[0];
      result = {
        plan: canonical,
        inputKey: input.key,
        modelName: this.info!.name,
        backend: this.backend ?? (tf.getBackend() as BackendName),
        trace,
        logits,
        flops: planFlops(model.config, compiled, traceCounts(trace)),
        baselineCounts: base.counts,
        baselineLogits: base.logits,
        baselineFlops: base.flops,
        firstRunMs,
        tensors: 0,
      };
    } finally {
      pixels.dispose();
    }
    result.tensors = tf.memory().numTensors;
    return result;
  }

  /**
   * Median latency of the plan and of the unreduced model: one warm-up each (discarded), then up
   * to `runs` timed forwards within about `budgetMs` each. Returns null as soon as `stale()` says
   * a newer request has arrived.
   */
  async time(input: RunInput, planText: string, stale: () => boolean, { runs = 5, budgetMs = 1500 } = {}): Promise<Timing | null> {
    const model = this.requireModel();
    const { compiled, canonical } = this.compile(planText);
    const { compiled: none } = this.compile('none');
    const pixels = this.pixels(input);
    const once = async (c: Compiled) => {
      const t = performance.now();
      const out = await runForward(model, pixels, c);
      await out.logits.data();
      out.logits.dispose();
      return performance.now() - t;
    };
    const measure = async (c: Compiled): Promise<number[] | null> => {
      if (stale()) return null;
      await once(c); // warm-up
      const times: number[] = [];
      const start = performance.now();
      while (times.length < runs && (times.length < 2 || performance.now() - start < budgetMs)) {
        if (stale()) return null;
        times.push(await once(c));
      }
      return times;
    };
    try {
      const plan = await measure(compiled);
      if (!plan) return null;
      const base = await measure(none);
      if (!base) return null;
      return {
        plan: canonical,
        inputKey: input.key,
        backend: this.backend ?? (tf.getBackend() as BackendName),
        medianMs: median(plan),
        runs: plan.length,
        baselineMedianMs: median(base),
        baselineRuns: base.length,
      };
    } finally {
      pixels.dispose();
    }
  }

  private disposeModel(): void {
    if (this.model) tf.dispose(listWeights(this.model.weights));
    this.model = null;
    this.baselines.clear();
  }

  dispose(): void {
    this.disposeModel();
    this.arrays = null;
    this.info = null;
  }
}
