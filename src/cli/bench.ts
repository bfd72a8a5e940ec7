/** `tokenscope bench`: wall-clock speed-up of plans against the unreduced model, in the same run. */
import { existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import { type BenchRow, FUSED_VARIANTS, benchPlans, benchRecordLevels } from '../measure/bench';
import { useBackend } from '../model/backend';
import { ARCHS, archConfig } from '../model/config';
import { loadModelDir } from '../model/load-node';
import type { Model } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { setFusedKernelsEnabled } from '../tokens/webgpu/kernel-status';
import type { Command } from './main';

/** The default suite: each method at its paper setting on DeiT-Tiny shapes. */
export const DEFAULT_PLANS = [
  'tome:r=13',
  'evit:keep=0.7,layers=3/6/9',
  'topk:keep=0.7,layers=3/6/9',
  'pitome:ratio=0.9',
  'ats',
  'mctf:r=16',
  'diffrate:target_flops=0.9',
  'atc:keep=0.7',
  'ppt',
  'gtp:p=8',
];

const HELP = `usage: tokenscope bench [--arch deit-t|deit-s|DIR] [--plan PLAN]... [--backend wasm|cpu|webgpu]
                       [--batch 1,32] [--runs N] [--warmup N] [--settled] [--json]
       tokenscope bench --browser [--backends webgpu,webgl,wasm] [--threads 1,2] [same options]

Wall-clock latency of token-reduction plans against the unreduced model, measured in the same run
with the candidates interleaved round by round (src/measure/timing.ts): the first and second call
of each are reported apart (set-up, shader compilation), warm-up rounds are discarded, the clock is
read after the logits are read back, and medians are compared. For each plan:

  speedup     median latency unreduced ÷ with the plan
  flop_ratio  model GFLOPs unreduced ÷ with the plan (fvcore convention, from the token counts the
              plan produced; the methods' own overhead is in flop_ratio_total)
  realized    speedup ÷ flop_ratio: the share of the FLOP saving that reached the wall clock

Options:
  --arch NAME|DIR   deit-t (default), deit-s, deit-b, vit-b with seeded random weights at 224 px,
                    or a model directory (config.json + model.safetensors)
  --plan PLAN       a plan (repeatable; default: the suite ${DEFAULT_PLANS.join(' | ')})
  --backend NAME    wasm (default), cpu, or webgpu: a GPU through Dawn's Node bindings, for a
                    machine without a browser (\`npm install --no-save webgpu\` first)
  --batch LIST      comma-separated batch sizes (default 1)
  --runs N          timed rounds (default 10 at batch 1, 3 above)
  --warmup N        discarded rounds (default 2 at batch 1, 1 above)
  --settled         time each forward right after an untimed forward of the same plan: what a
                    plan costs run again and again, without what switching between plans costs the
                    backend (on WebGL, re-creating the textures the previous plan released)
  --json            print JSON: one result {ms_base, ms_plan, speedup, flop_ratio, realized, ...,
                    machine}, or {machine, results: [...]} for several
  --record-levels   instead: the cost of recording the trace, per plan the median forward with
                    record 'none', 'fates' and 'evidence' (the why view's), interleaved
  --browser         the same benchmark in headless Chromium (tests/bench page, served by Vite),
                    once per backend in --backends (default webgpu,webgl,wasm); needs Chromium
                    at /usr/bin/chromium or $CHROMIUM_PATH
  --threads LIST    with --browser: run wasm once per thread count (comma-separated; default: one
                    per core, capped at 8), print each count's speed-up over the first, and check
                    that the bundled model's logits and token counts agree across the counts
  --fused MODE      on WebGPU (and WebGL with --browser): the fused kernels 'on' (default), 'off'
                    (the generic TF.js ops), or 'compare': every plan both ways, interleaved
                    against the same unreduced baseline

Every row also counts the device dispatches of one forward (WebGPU compute programs, WebGL shader
runs; kernel calls on wasm/cpu), plan and unreduced, and what each reducing block adds.
`;

export interface BenchArgs {
  arch: string;
  plans: string[];
  batches: number[];
  runs?: number;
  warmup?: number;
  /** Time each forward right after an untimed one of the same plan. */
  settled?: boolean;
}

function positiveInt(flag: string, v: string, min = 1): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new TokenScopeError('param-out-of-range', `${flag} needs an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return x;
}

/** Seeded random weights for a reference architecture, or a model directory. */
export function benchModel(arch: string): Model {
  if (ARCHS[arch]) {
    const config = archConfig(arch);
    return { config, weights: randomWeights(config, 1) };
  }
  if (existsSync(join(arch, 'config.json'))) return loadModelDir(arch);
  throw new TokenScopeError('param-out-of-range', `--arch ${arch} is neither one of ${Object.keys(ARCHS).join(', ')} nor a model directory`);
}

export function machine(backend: string): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memory_gb: Number((totalmem() / 2 ** 30).toFixed(1)),
    load_average: loadavg().map((v) => Number(v.toFixed(2))),
    runtime: `Node ${process.versions.node}`,
    tfjs: tf.version.tfjs,
    backend,
  };
}

/** One table row per result, ratios first. */
export function formatTable(rows: BenchRow[]): string {
  const head = ['plan', 'batch', 'ms base', 'ms plan', 'speed-up', 'FLOP ratio', 'realized', '1st ms', '2nd/steady', 'peak MiB', 'dispatches', '+/reducing block'];
  const body = rows.map((r) => [
    r.variant ? `${r.plan} [${r.variant}]` : r.plan,
    String(r.batch),
    r.ms_base.toFixed(1),
    r.ms_plan.toFixed(1),
    r.speedup.toFixed(2),
    r.flop_ratio.toFixed(2),
    r.realized.toFixed(2),
    r.first_ms_plan.toFixed(0),
    r.second_over_steady.toFixed(2),
    r.peak_mb_plan.toFixed(1),
    `${r.dispatches_plan} / ${r.dispatches_base}`,
    r.dispatches_per_reducing_block.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

export function parseBenchArgs(values: { arch?: string; plan?: string[]; batch?: string; runs?: string; warmup?: string; settled?: boolean }): BenchArgs {
  const batches = (values.batch ?? '1').split(',').map((b) => positiveInt('--batch', b.trim()));
  return {
    arch: values.arch ?? 'deit-t',
    plans: values.plan?.length ? values.plan : DEFAULT_PLANS,
    batches,
    runs: values.runs === undefined ? undefined : positiveInt('--runs', values.runs),
    warmup: values.warmup === undefined ? undefined : positiveInt('--warmup', values.warmup, 0),
    settled: values.settled ?? false,
  };
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      arch: { type: 'string' },
      plan: { type: 'string', multiple: true },
      backend: { type: 'string', default: 'wasm' },
      batch: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      settled: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      browser: { type: 'boolean', default: false },
      'record-levels': { type: 'boolean', default: false },
      backends: { type: 'string', default: 'webgpu,webgl,wasm' },
      threads: { type: 'string' },
      fused: { type: 'string', default: 'on' },
    },
  });
  const args = parseBenchArgs(values);
  const fused = values.fused!;
  if (fused !== 'on' && fused !== 'off' && fused !== 'compare')
    throw new TokenScopeError('param-out-of-range', `--fused takes on, off or compare, got ${JSON.stringify(fused)}`);
  if (values.browser) {
    const { benchInBrowser } = await import('./bench-browser');
    const threads = values.threads?.split(',').map((t) => positiveInt('--threads', t));
    return benchInBrowser(args, values.backends!.split(','), values.json!, threads, fused);
  }
  const backend = values.backend!;
  if (backend !== 'wasm' && backend !== 'cpu' && backend !== 'webgpu') {
    throw new TokenScopeError('param-out-of-range', `--backend ${backend} is not available in Node; use wasm, cpu or webgpu (or --browser for webgl)`);
  }
  const adapter = backend === 'webgpu' ? await (await import('./node-webgpu')).startNodeWebGpu() : undefined;
  await useBackend(backend);
  setFusedKernelsEnabled(fused !== 'off');
  const model = benchModel(args.arch);
  try {
    if (values['record-levels']) {
      const levels = [];
      for (const batch of args.batches) levels.push(...(await benchRecordLevels(model, args.plans, { batch, runs: args.runs ?? 10, warmup: args.warmup ?? 2 })));
      if (values.json) console.log(JSON.stringify({ machine: machine(backend), results: levels }));
      else
        for (const r of levels)
          console.log(
            `${r.plan.padEnd(28)} batch ${r.batch}  none ${r.ms_none.toFixed(1)} ms  fates ${r.ms_fates.toFixed(1)} ms  evidence ${r.ms_evidence.toFixed(1)} ms  evidence/fates ${r.evidence_over_fates.toFixed(3)}  evidence/none ${r.evidence_over_none.toFixed(3)}`,
          );
      return 0;
    }
    const rows: BenchRow[] = [];
    for (const batch of args.batches) {
      if (!values.json) console.error(`bench: ${args.arch}, ${backend}, batch ${batch}, ${args.plans.length} plan(s) against the unreduced model...`);
      rows.push(
        ...(await benchPlans(model, args.plans, {
          batch,
          runs: args.runs ?? (batch > 1 ? 3 : 10),
          warmup: args.warmup ?? (batch > 1 ? 1 : 2),
          settled: args.settled,
          variants: backend === 'webgpu' && fused === 'compare' ? FUSED_VARIANTS : undefined,
        })),
      );
    }
    const info: Record<string, unknown> = { ...machine(backend), ...(adapter ? { adapter } : {}) };
    if (values.json) {
      console.log(JSON.stringify(rows.length === 1 ? { ...rows[0], machine: info } : { machine: info, results: rows }));
    } else {
      console.log(
        `${args.arch} on ${backend}${adapter ? ` (adapter ${JSON.stringify(adapter)})` : ''}: ${info.cpu} × ${info.cores}, ${info.runtime}, TF.js ${info.tfjs}, load average ${(info.load_average as number[]).join(' ')}`,
      );
      console.log(formatTable(rows));
      console.log('Medians of interleaved rounds; realized = speed-up ÷ FLOP ratio. 2nd/steady: second call ÷ steady median.');
    }
    return 0;
  } finally {
    setFusedKernelsEnabled(true);
    tf.dispose(listWeights(model.weights));
  }
}

export const benchCommand: Command = {
  summary: 'wall-clock speed-up of plans against the unreduced model (Node, or Chromium with --browser)',
  help: HELP,
  run,
};
