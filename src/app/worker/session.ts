/**
 * The engine as the worker holds it: one model, one backend, and runs of (image, plan). Owns every
 * tensor it makes: weights until the next model or backend, a run's pixels and outputs until the
 * run ends. No DOM; runs in Node too (tests use the wasm backend).
 *
 * The model and backend are engine/model-holder.ts's, shared with the compare worker.
 */
import * as tf from '@tensorflow/tfjs';
import { planFlops, traceCounts } from '../../measure/plan-flops';
import type { BackendName } from '../../model/backend';
import { type Model, runForward } from '../../model/run';
import { compilePlan, type Compiled } from '../../reduce/compile';
import { formatPlan, planFromText } from '../../reduce/plan';
import { gpuMemory } from '../../model/gpu-memory';
import { inputTensor, ModelHolder, type ModelHolderOptions } from '../engine/model-holder';
import type { ModelInfo, ModelSource, RunInput, RunResult, Timing } from './protocol';

interface Baseline {
  counts: number[];
  logits: number[];
  flops: RunResult['baselineFlops'];
}

/** A run as the session sees it; the worker adds the backend report. */
export type SessionRun = Omit<RunResult, 'backendReport'>;

export type SessionOptions = ModelHolderOptions;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export class EngineSession {
  private readonly holder: ModelHolder;
  /** The unreduced run per image key, for the current model and backend. */
  private baselines = new Map<string, Baseline>();

  constructor(options: SessionOptions) {
    this.holder = new ModelHolder(options);
  }

  get activeBackend(): BackendName | null {
    return this.holder.activeBackend;
  }

  /** Disposes the current model, then loads `source` on the current backend. */
  async loadModel(source: ModelSource): Promise<ModelInfo> {
    this.baselines.clear();
    return this.holder.load(source);
  }

  /** Switches backend, rebuilding the weights there; throws 'backend-unavailable'. */
  async useBackend(name: BackendName): Promise<void> {
    this.baselines.clear(); // computed on the old backend
    await this.holder.useBackend(name);
  }

  private requireModel(): Model {
    return this.holder.requireModel().model;
  }

  private compile(planText: string): { compiled: Compiled; canonical: string } {
    const { config } = this.requireModel();
    const plan = planFromText(planText, config.num_hidden_layers);
    return { compiled: compilePlan(plan, config), canonical: formatPlan(plan) };
  }

  private pixels(input: RunInput): tf.Tensor4D {
    return inputTensor(this.requireModel().config, input);
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

  /**
   * Runs `planText` on the image with fates (and by default the methods' evidence) recorded, plus
   * the unreduced model (cached per image).
   */
  async run(input: RunInput, planText: string, record: 'fates' | 'evidence' = 'evidence'): Promise<SessionRun> {
    const model = this.requireModel();
    const { compiled, canonical } = this.compile(planText);
    const pixels = this.pixels(input);
    let result: SessionRun;
    try {
      const base = await this.baseline(input, pixels);
      const t0 = performance.now();
      const out = await runForward(model, pixels, compiled, { record });
      const logits = Array.from(await out.logits.data());
      out.logits.dispose();
      const firstRunMs = performance.now() - t0;
      const trace = out.traces[0];
      result = {
        plan: canonical,
        inputKey: input.key,
        modelName: this.holder.requireModel().info.name,
        backend: this.activeBackend ?? (tf.getBackend() as BackendName),
        trace,
        logits,
        flops: planFlops(model.config, compiled, traceCounts(trace)),
        baselineCounts: base.counts,
        baselineLogits: base.logits,
        baselineFlops: base.flops,
        firstRunMs,
        tensors: 0,
        gpuMemory: null,
      };
    } finally {
      pixels.dispose();
    }
    result.tensors = tf.memory().numTensors;
    const gpu = gpuMemory();
    result.gpuMemory = gpu && { heldBytes: gpu.heldBytes, inUseBytes: gpu.inUseBytes };
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
        backend: this.activeBackend ?? (tf.getBackend() as BackendName),
        medianMs: median(plan),
        runs: plan.length,
        baselineMedianMs: median(base),
        baselineRuns: base.length,
      };
    } finally {
      pixels.dispose();
    }
  }

  dispose(): void {
    this.holder.dispose();
    this.baselines.clear();
  }
}
