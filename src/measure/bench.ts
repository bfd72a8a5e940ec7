/**
 * The speed benchmark: plans against the unreduced model, timed in the same run, interleaved
 * (timing.ts), on whatever backend is active. The CLI (`tokenscope bench`) and the browser bench
 * page (tests/bench) both call `benchPlans`, so Node and Chromium numbers come from one code path.
 *
 * Per plan it reports the median latencies, their ratio (speed-up), the FLOP ratio of the token
 * counts the plan actually produced (fvcore convention, model FLOPs as the papers quote them; the
 * methods' own overhead apart), and the realized fraction = speed-up ÷ FLOP ratio: 1 means the
 * wall clock fell exactly as the FLOPs did.
 */
import * as tf from '@tensorflow/tfjs';
import { type CompiledPlan, type Model, runForward, type Trace, warmUp } from '../model/run';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import { countDispatches } from './dispatches';
import { planFlops, traceCounts } from './plan-flops';
import { timeInterleaved } from './timing';
import { setFusedKernelsEnabled } from '../tokens/webgpu/kernel-status';

export interface BenchOptions {
  batch: number;
  /** Timed rounds (each runs every plan and the unreduced model once). */
  runs: number;
  /** Discarded rounds after the first two calls. */
  warmup: number;
  /** Seed of the random input pixels. */
  seed?: number;
  /** Time each forward right after an untimed forward of the same plan (timing.ts `settled`). */
  settled?: boolean;
  /**
   * Runs each plan once per variant (e.g. the generic ops against the fused WebGPU kernels), all
   * interleaved in the same rounds against one unreduced baseline; `use` switches to the variant.
   */
  variants?: BenchVariant[];
}

export interface BenchVariant {
  name: string;
  use(): void;
}

/** `--fused compare`: every plan with the generic ops and with the fused GPU kernels, interleaved. */
export const FUSED_VARIANTS: BenchVariant[] = [
  { name: 'generic ops', use: () => setFusedKernelsEnabled(false) },
  { name: 'fused', use: () => setFusedKernelsEnabled(true) },
];

export interface BenchRow {
  plan: string;
  batch: number;
  backend: string;
  runs: number;
  /** Median latency of one forward of the batch, unreduced and with the plan. */
  ms_base: number;
  ms_plan: number;
  speedup: number;
  /** Model GFLOPs unreduced ÷ with the plan (per image, from the counts the plan produced). */
  flop_ratio: number;
  /** speedup ÷ flop_ratio. */
  realized: number;
  /** The same ratio with the methods' own FLOPs (similarity matmuls, ...) counted in. */
  flop_ratio_total: number;
  gflops_base: number;
  gflops_plan: number;
  /** Tokens entering each block and leaving the last (mean over the batch's images). */
  tokens: number[];
  /** First and second call (compilation, set-up), and second ÷ steady-state median. */
  first_ms_base: number;
  first_ms_plan: number;
  second_ms_plan: number;
  second_over_steady: number;
  /** High-water mark of tf.memory().numBytes during one forward, MiB. */
  peak_mb_base: number;
  peak_mb_plan: number;
  /** The variant the plan ran under, when the bench compared variants. */
  variant?: string;
  /** Device dispatches of one forward (countDispatches: programs on WebGPU/WebGL, kernels on the CPU backends). */
  dispatches_base: number;
  dispatches_plan: number;
  /** Blocks where the plan reduces (a method is placed there). */
  reducing_blocks: number;
  /** (dispatches_plan − dispatches_base) ÷ reducing_blocks: what each reduction adds, its effects on later blocks included. */
  dispatches_per_reducing_block: number;
}

const round = (v: number, digits = 3) => Number(v.toFixed(digits));

/**
 * Benchmarks each plan against the unreduced model on the current backend. Prepares the model
 * first (`warmUp`: per-head layout on wasm/cpu, one forward per plan). Leaves no tensors behind but
 * that layout.
 */
export async function benchPlans(model: Model, planTexts: readonly string[], options: BenchOptions): Promise<BenchRow[]> {
  const { config } = model;
  const { batch, runs, warmup, seed = 1 } = options;
  const depth = config.num_hidden_layers;
  const compile = (text: string) => ({ text, compiled: compilePlan(planFromText(text, depth), config) });
  const plans = planTexts.map(compile);
  const base = compile('none');
  const pixels = tf.randomNormal([batch, config.image_size, config.image_size, config.num_channels], 0, 1, 'float32', seed) as tf.Tensor4D;
  try {
    // Backend set-up that is nobody's first run (kernel registration, the head layout).
    await warmUp(model, [], { batch });
    const forward = async (plan: CompiledPlan): Promise<Trace[]> => {
      const { logits, traces } = await runForward(model, pixels, plan);
      await logits.data();
      logits.dispose();
      return traces;
    };
    const variants = options.variants ?? [{ name: '', use: () => {} }];
    // the baseline, then every plan under every variant
    const runsOf = [{ ...base, variant: variants[0] }, ...plans.flatMap((p) => variants.map((variant) => ({ ...p, variant })))];
    const timings = await timeInterleaved(
      runsOf.map((p) => ({
        name: p.variant.name ? `${p.text} [${p.variant.name}]` : p.text,
        run: () => {
          p.variant.use();
          return forward(p.compiled);
        },
      })),
      { runs, warmup, settled: options.settled },
    );
    const peaks: number[] = [];
    const dispatches: number[] = [];
    const traces: Trace[][] = [];
    for (const p of runsOf) {
      let t: Trace[] = [];
      p.variant.use();
      const info = await countDispatches(async () => {
        t = await forward(p.compiled);
      });
      peaks.push(info.peakBytes);
      dispatches.push(info.dispatches);
      traces.push(t);
    }
    const flops = runsOf.map((p, i) => {
      // per image, then averaged (ATS keeps a different count on each image)
      const reports = traces[i].map((t) => planFlops(config, p.compiled, traceCounts(t)));
      const mean = (f: (r: (typeof reports)[number]) => number) => reports.reduce((a, r) => a + f(r), 0) / reports.length;
      const counts = traces[i].map(traceCounts);
      const tokens = counts[0].map((_, l) => counts.reduce((a, c) => a + c[l], 0) / counts.length);
      return { model: mean((r) => r.model), total: mean((r) => r.total), tokens };
    });
    const backend = tf.getBackend();
    const [b] = timings;
    return runsOf.slice(1).map((p, k) => {
      const i = k + 1;
      const t = timings[i];
      const reducing = p.compiled.hooks.filter((h) => h !== null).length;
      const speedup = b.medianMs / t.medianMs;
      const flopRatio = flops[0].model / flops[i].model;
      return {
        plan: p.text,
        batch,
        backend,
        runs,
        ms_base: round(b.medianMs, 2),
        ms_plan: round(t.medianMs, 2),
        speedup: round(speedup),
        flop_ratio: round(flopRatio),
        realized: round(speedup / flopRatio),
        flop_ratio_total: round(flops[0].total / flops[i].total),
        gflops_base: round(flops[0].model / 1e9, 4),
        gflops_plan: round(flops[i].model / 1e9, 4),
        tokens: flops[i].tokens.map((v) => round(v, 1)),
        first_ms_base: round(b.firstMs, 1),
        first_ms_plan: round(t.firstMs, 1),
        second_ms_plan: round(t.secondMs, 1),
        second_over_steady: round(t.secondMs / t.medianMs),
        peak_mb_base: round(peaks[0] / 2 ** 20, 2),
        peak_mb_plan: round(peaks[i] / 2 ** 20, 2),
        ...(p.variant.name ? { variant: p.variant.name } : {}),
        dispatches_base: dispatches[0],
        dispatches_plan: dispatches[i],
        reducing_blocks: reducing,
        dispatches_per_reducing_block: reducing > 0 ? round((dispatches[i] - dispatches[0]) / reducing, 1) : 0,
      };
    });
  } finally {
    pixels.dispose();
  }
}

export interface RecordLevelRow {
  plan: string;
  batch: number;
  backend: string;
  runs: number;
  /** Median latency of one forward of the batch, trace read back included, per record level. */
  ms_none: number;
  ms_fates: number;
  ms_evidence: number;
  /** What recording the methods' evidence adds to a run that records fates (the playground's run), and to none. */
  evidence_over_fates: number;
  evidence_over_none: number;
}

/**
 * The cost of the trace's record levels ('none', 'fates', 'evidence') for each plan, the three
 * interleaved round by round in the same run.
 */
export async function benchRecordLevels(model: Model, planTexts: readonly string[], options: BenchOptions): Promise<RecordLevelRow[]> {
  const { config } = model;
  const { batch, runs, warmup, seed = 1 } = options;
  const pixels = tf.randomNormal([batch, config.image_size, config.image_size, config.num_channels], 0, 1, 'float32', seed) as tf.Tensor4D;
  try {
    await warmUp(model, [], { batch });
    const rows: RecordLevelRow[] = [];
    for (const text of planTexts) {
      const compiled = compilePlan(planFromText(text, config.num_hidden_layers), config);
      const levels = ['none', 'fates', 'evidence'] as const;
      const timings = await timeInterleaved(
        levels.map((record) => ({
          name: record,
          run: async () => {
            const { logits } = await runForward(model, pixels, compiled, { record });
            await logits.data();
            logits.dispose();
          },
        })),
        { runs, warmup },
      );
      const [none, fates, evidence] = timings.map((t) => t.medianMs);
      rows.push({
        plan: text,
        batch,
        backend: tf.getBackend(),
        runs,
        ms_none: round(none, 2),
        ms_fates: round(fates, 2),
        ms_evidence: round(evidence, 2),
        evidence_over_fates: round(evidence / fates),
        evidence_over_none: round(evidence / none),
      });
    }
    return rows;
  } finally {
    pixels.dispose();
  }
}
