/**
 * The compare worker's engine: one model, one backend, and evaluations over a set of images —
 * sweeps, equal budgets and fate traces. Evaluation is measure/evaluate.ts's evaluatePlans, the
 * loop `tokenscope sweep` runs, fed the same batches (io/grey-images.ts greyBatches over the
 * bundled set, normalised with the config's mean and std), so the browser's points equal the CLI's.
 *
 * Scores are cached per (model hash, images, backend, batch, plan); only missing plans are
 * evaluated. Between batches the loop yields to the event loop, so a 'cancel' message reaches the
 * AbortSignal (on wasm, awaiting TF.js never does: its reads resolve as microtasks).
 *
 * Owns every tensor it makes: the weights until the next model or backend; a run's tensors until
 * the run ends, also when it is cancelled. No DOM; runs in Node too.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../../errors';
import { parseEvalSet, type EvalSet } from '../../io/eval-set';
import { greyBatches, type LabelledBatch } from '../../io/grey-images';
import { evaluatePlans, type EvaluationProgress, type PlanScore } from '../../measure/evaluate';
import { atsCandidates, solveBudget, sweepPlans, type SweepPoint } from '../../measure/sweep';
import type { BackendName } from '../../model/backend';
import { type Model, runForward } from '../../model/run';
import { compilePlan } from '../../reduce/compile';
import { formatPlan, planFromText } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';
import { fetchBytes } from '../engine/fetch-bytes';
import { inputTensor, ModelHolder, type ModelHolderOptions, type ReadBytes } from '../engine/model-holder';
import type { ModelInfo, ModelSource, RunInput } from '../worker/protocol';
import { type CachedScore, MemoryCache, type ScoreCache, scoreKey } from './cache';
import type { DataInfo, EvalData, ModelIdentity, SweepResult, SweepRow, TraceRun } from './protocol';
import { contentHash } from './hash';
import { budgetGflops, formatBudget, parseBudget } from './rows';

/** Images per forward pass. The CLI's --batch; the browser-vs-CLI test passes the same number. */
export const COMPARE_BATCH = 25;

export interface ProgressReport extends EvaluationProgress {
  phase: string;
  /** Plans in this pass (the unreduced model included). */
  plans: number;
  elapsedMs: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?(p: ProgressReport): void;
}

export interface CompareSessionOptions extends ModelHolderOptions {
  cache?: ScoreCache;
  batch?: number;
  /** Lets queued messages in between batches; default: a zero-delay timer. */
  yieldToEvents?(): Promise<void>;
  now?(): number;
}

export const isCancelled = (e: unknown) => e instanceof TokenScopeError && (e.code === 'cancelled' || e.details?.cancelled === true);

interface PreparedData {
  info: DataInfo;
  batches(): Iterable<LabelledBatch>;
}

/** SHA-256 of what makes the model: its files, or the seed and config of random weights. */
function modelHash(source: ModelSource, bytes: ReadBytes): Promise<string> {
  const text = new TextEncoder();
  if (source.kind === 'random') return contentHash([text.encode('random'), text.encode(String(source.seed)), text.encode(JSON.stringify(source.configJson))]);
  return contentHash([bytes.config ?? text.encode('no config.json'), bytes.weights!]);
}

export class CompareSession {
  private readonly holder: ModelHolder;
  private identity: ModelIdentity | null = null;
  /** Parsed bundled sets by URL, with the SHA-256 of their pixels and labels. */
  private readonly evalSets = new Map<string, Promise<{ set: EvalSet; hash: string }>>();
  private readonly cache: ScoreCache;
  readonly batch: number;

  constructor(private readonly options: CompareSessionOptions) {
    this.holder = new ModelHolder(options);
    this.cache = options.cache ?? new MemoryCache();
    this.batch = options.batch ?? COMPARE_BATCH;
  }

  get activeBackend(): BackendName | null {
    return this.holder.activeBackend;
  }

  /** Disposes the current model, then loads `source` on the current backend. */
  async loadModel(source: ModelSource): Promise<{ info: ModelInfo; hash: string }> {
    this.identity = null;
    let hash = '';
    const info = await this.holder.load(source, async (bytes) => {
      hash = await modelHash(source, bytes);
    });
    this.identity = { name: source.name, hash, untrained: source.kind === 'random' };
    return { info, hash };
  }

  /** Switches backend, rebuilding the weights there; throws 'backend-unavailable'. */
  async useBackend(name: BackendName): Promise<void> {
    await this.holder.useBackend(name);
  }

  private requireModel(): Model {
    if (!this.identity) throw new TokenScopeError('internal', 'no model is loaded yet');
    return this.holder.requireModel().model;
  }

  private canonical(p: SweepPoint): SweepPoint {
    const depth = this.requireModel().config.num_hidden_layers;
    return { ...p, plan: formatPlan(planFromText(p.plan, depth)) };
  }

  private async evalSet(url: string): Promise<{ set: EvalSet; hash: string }> {
    let set = this.evalSets.get(url);
    if (!set) {
      set = (this.options.fetchBytes ?? fetchBytes)(url).then(async (bytes) => {
        const parsed = parseEvalSet(bytes, url);
        return { set: parsed, hash: await contentHash([parsed.images, parsed.labels]) };
      });
      set.catch(() => this.evalSets.delete(url));
      this.evalSets.set(url, set);
    }
    return set;
  }

  /** The images as batches the model reads, checked against the model (as the CLI's labelledData does). */
  private async prepare(data: EvalData): Promise<PreparedData> {
    const { config } = this.requireModel();
    const S = config.image_size;
    const C = config.num_channels;
    if (data.kind === 'bundled') {
      const { set, hash } = await this.evalSet(data.url);
      if (set.channels !== 1 || C !== 1 || set.size !== S) {
        throw new TokenScopeError('shape-mismatch', `the model takes ${S}×${S}×${C} images; ${data.name} has ${set.size}×${set.size}×${set.channels}`);
      }
      if (!Number.isInteger(data.limit) || data.limit < 1)
        throw new TokenScopeError('param-out-of-range', `the number of images must be a positive whole number, got ${data.limit}`);
      const n = Math.min(set.count, data.limit);
      const mean = config.image_mean?.[0] ?? 0.5;
      const std = config.image_std?.[0] ?? 0.5;
      const key = `bundled:${data.name}:${hash}:n=${n}`;
      return {
        info: { kind: 'bundled', name: data.name, n, labelled: true, key },
        batches: () => greyBatches(set, { batchSize: this.batch, mean, std, limit: n }),
      };
    }
    const px = S * S * C;
    if (data.size !== S || data.channels !== C || data.pixels.length !== data.count * px) {
      throw new TokenScopeError(
        'shape-mismatch',
        `the model reads ${S}×${S}×${C} images; ${data.count} image(s) came prepared as ${data.size}×${data.size}×${data.channels} (${data.pixels.length} values)`,
      );
    }
    if (data.count < 1) throw new TokenScopeError('data-missing', 'no images to evaluate');
    if (data.labels && data.labels.length !== data.count) throw new TokenScopeError('shape-mismatch', `${data.count} images but ${data.labels.length} labels`);
    const labels = data.labels;
    const batch = this.batch;
    return {
      info: { kind: 'images', name: data.name, n: data.count, labelled: labels !== null, key: `images:${data.key}:n=${data.count}` },
      *batches() {
        for (let start = 0; start < data.count; start += batch) {
          const count = Math.min(batch, data.count - start);
          yield {
            start,
            count,
            pixels: data.pixels.subarray(start * px, (start + count) * px),
            labels: labels ? labels.subarray(start, start + count) : new Uint8Array(0),
          };
        }
      },
    };
  }

  private key(data: DataInfo, plan: string): string {
    const model = this.requireModel();
    return scoreKey({
      model: this.identity!.hash,
      data: data.key,
      backend: this.activeBackend ?? tf.getBackend(),
      batch: this.batch,
      plan,
      depth: model.config.num_hidden_layers,
    });
  }

  /**
   * Scores of `plans` (canonical) and of the unreduced model, by plan: from the cache where
   * present, the rest evaluated in one pass (evaluatePlans) and cached.
   */
  private async scores(
    plans: string[],
    prepared: PreparedData,
    phase: string,
    { signal, onProgress }: RunOptions,
  ): Promise<{ byPlan: Map<string, CachedScore & { cached: boolean }>; evaluated: number }> {
    const model = this.requireModel();
    const wanted = [...new Set(['none', ...plans])];
    const byPlan = new Map<string, CachedScore & { cached: boolean }>();
    for (const plan of wanted) {
      const hit = await this.cache.get(this.key(prepared.info, plan));
      if (hit) byPlan.set(plan, { ...hit, cached: true });
    }
    const missing = wanted.filter((p) => !byPlan.has(p));
    if (missing.length === 0) return { byPlan, evaluated: 0 };
    const now = this.options.now ?? (() => performance.now());
    const pause = this.options.yieldToEvents ?? (() => new Promise<void>((r) => setTimeout(r, 0)));
    const started = now();
    const total = prepared.info.n;
    const passPlans = [...new Set(['none', ...missing])];
    async function* yielding(batches: Iterable<LabelledBatch>): AsyncGenerator<LabelledBatch> {
      for (const b of batches) {
        await pause();
        yield b;
      }
    }
    onProgress?.({ phase, done: 0, total, plans: passPlans.length, elapsedMs: 0 });
    let scores: PlanScore[];
    try {
      scores = await evaluatePlans(
        model,
        missing.filter((p) => p !== 'none'),
        yielding(prepared.batches()),
        {
          total,
          signal,
          onProgress: ({ done }) => onProgress?.({ phase, done, total, plans: passPlans.length, elapsedMs: now() - started }),
        },
      );
    } catch (e) {
      if (isCancelled(e)) throw new TokenScopeError('cancelled', 'the evaluation was cancelled', { cancelled: true });
      throw e;
    }
    const computedAt = new Date().toISOString();
    for (const score of scores) {
      const entry = { score, computedAt };
      await this.cache.put(this.key(prepared.info, score.plan), entry);
      byPlan.set(score.plan, { ...entry, cached: false });
    }
    return { byPlan, evaluated: scores.length };
  }

  private result(
    kind: SweepResult['kind'],
    methods: MethodId[],
    points: SweepPoint[],
    prepared: PreparedData,
    byPlan: Map<string, CachedScore & { cached: boolean }>,
    evaluated: number,
    started: number,
  ): SweepResult {
    const row = (method: SweepRow['method'], plan: string, p: SweepPoint | null): SweepRow => {
      const hit = byPlan.get(plan);
      if (!hit) throw new TokenScopeError('internal', `no score for ${plan}`);
      const s = hit.score;
      return {
        method,
        plan: s.plan,
        gflops: s.gflops,
        accuracy: Number.isNaN(s.accuracy) ? null : s.accuracy,
        agreement: s.agreement,
        kl: s.kl,
        param: p?.param ?? null,
        value: p?.value ?? null,
        overheadGflops: s.overheadGflops,
        cached: hit.cached,
        computedAt: hit.computedAt,
      };
    };
    const rows = [row('none', 'none', null), ...points.map((p) => row(p.method, p.plan, p))];
    const now = this.options.now ?? (() => performance.now());
    return {
      kind,
      methods,
      model: this.identity!,
      data: prepared.info,
      backend: this.activeBackend ?? (tf.getBackend() as BackendName),
      batch: this.batch,
      rows,
      evaluated,
      fromCache: [...byPlan.values()].filter((h) => h.cached).length,
      elapsedMs: now() - started,
    };
  }

  /** Every method's main parameter over its sweep values (measure/sweep.ts), as `tokenscope sweep` does. */
  async sweep(methods: MethodId[], data: EvalData, opts: RunOptions = {}): Promise<SweepResult> {
    const started = (this.options.now ?? (() => performance.now()))();
    const { config } = this.requireModel();
    const points = sweepPlans(methods, config).map((p) => this.canonical(p));
    const prepared = await this.prepare(data);
    const { byPlan, evaluated } = await this.scores(
      points.map((p) => p.plan),
      prepared,
      'sweep',
      opts,
    );
    return this.result('sweep', methods, points, prepared, byPlan, evaluated, started);
  }

  /**
   * Per method, the setting with the most GFLOPs not above the budget, as `tokenscope sweep
   * --budget` chooses it: solveBudget for fixed schedules, and for ATS the costliest of its caps
   * measured on the same images.
   */
  async equalBudget(methods: MethodId[], data: EvalData, budgetText: string, opts: RunOptions = {}): Promise<SweepResult> {
    const started = (this.options.now ?? (() => performance.now()))();
    const parsed = parseBudget(budgetText);
    if (!parsed.ok) throw parsed.error;
    const { config } = this.requireModel();
    const prepared = await this.prepare(data);
    const base = (await this.scores([], prepared, 'unreduced', opts)).byPlan.get('none')!.score;
    const target = budgetGflops(parsed.value, base.gflops);
    const points: SweepPoint[] = [];
    const unmet: { method: MethodId; reason: string }[] = [];
    let evaluated = 0;
    for (const method of methods) {
      if (method === 'ats') {
        const caps = atsCandidates(config).map((p) => this.canonical(p));
        const measured = await this.scores(
          caps.map((p) => p.plan),
          prepared,
          'ATS caps',
          opts,
        );
        evaluated += measured.evaluated;
        const within = caps.map((p) => ({ p, g: measured.byPlan.get(p.plan)!.score.gflops })).filter((c) => c.g <= target);
        if (within.length) points.push(within.reduce((a, b) => (b.g > a.g ? b : a)).p);
        else
          unmet.push({
            method,
            reason: `even its smallest cap costs ${Math.min(...caps.map((p) => measured.byPlan.get(p.plan)!.score.gflops)).toPrecision(4)} GFLOPs on these images`,
          });
        continue;
      }
      const choice = solveBudget(method, config, target);
      if (choice) points.push(this.canonical({ method, param: choice.param, value: choice.value, plan: choice.plan }));
      else unmet.push({ method, reason: 'even its strongest setting costs more' });
    }
    const { byPlan, evaluated: more } = await this.scores(
      points.map((p) => p.plan),
      prepared,
      'budget',
      opts,
    );
    const result = this.result('budget', methods, points, prepared, byPlan, evaluated + more, started);
    return { ...result, budget: { text: formatBudget(parsed.value), gflops: target, unmet } };
  }

  /** Each plan on one image with fates recorded, and the unreduced logits. */
  async traces(input: RunInput, plans: string[]): Promise<{ runs: TraceRun[]; baselineLogits: number[] }> {
    const model = this.requireModel();
    const { config } = model;
    const depth = config.num_hidden_layers;
    const pixels = inputTensor(config, input);
    try {
      const once = async (plan: string) => {
        const p = planFromText(plan, depth);
        const out = await runForward(model, pixels, compilePlan(p, config), { record: 'fates' });
        const logits = Array.from(await out.logits.data());
        out.logits.dispose();
        return { plan: formatPlan(p), trace: out.traces[0], logits };
      };
      const base = await once('none');
      const runs: TraceRun[] = [];
      for (const plan of plans) runs.push(await once(plan));
      return { runs, baselineLogits: base.logits };
    } finally {
      pixels.dispose();
    }
  }

  dispose(): void {
    this.holder.dispose();
    this.identity = null;
  }
}
