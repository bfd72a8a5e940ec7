// The bench page: window.tokenscopeBench(backend, arch, plans, options) runs src/measure/bench.ts
// on that backend in this page and returns its rows plus a description of the machine as the
// browser sees it. Driven by `tokenscope bench --browser` (src/cli/bench-browser.ts).
// `?threads=N` sets the wasm thread count before the backend starts (the page is cross-origin
// isolated by the dev server's headers, so the threaded build runs); window.tokenscopeBundledRun
// runs the bundled model on the first images of the bundled eval set, for comparing thread counts.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { setWasmThreads, useBackend, type BackendName } from '../../src/app/engine/backends';
import { logicalCores } from '../../src/app/engine/threads';
import { loadCheckpoint } from '../../src/io/checkpoint';
import { parseEvalSet } from '../../src/io/eval-set';
import { greyBatches } from '../../src/io/grey-images';
import { planFlops, traceCounts } from '../../src/measure/plan-flops';
import { timeInterleaved } from '../../src/measure/timing';
import { type BenchOptions, type BenchRow, FUSED_VARIANTS, benchPlans, benchRecordLevels, type RecordLevelRow } from '../../src/measure/bench';
import { loadModelFromFiles } from '../../src/model/load';
import { archConfig } from '../../src/model/config';
import { runForward } from '../../src/model/run';
import { setGpuPoolPolicy, type GpuPoolPolicy } from '../../src/model/gpu-memory';
import { listWeights, randomWeights } from '../../src/model/weights';
import { compilePlan } from '../../src/reduce/compile';
import { planFromText } from '../../src/reduce/plan';
import { setFusedKernelsEnabled } from '../../src/tokens/webgpu/kernel-status';

const asked = new URLSearchParams(location.search).get('threads');
if (asked !== null) setWasmThreads(Number(asked));

declare global {
  interface Window {
    tf: typeof tf;
    tokenscopeBench: (
      backend: BackendName,
      arch: string,
      plans: string[],
      options: BenchOptions & { fused?: 'on' | 'off' | 'compare' },
    ) => Promise<{ rows: BenchRow[]; machine: Record<string, unknown> }>;
    /** What recording fates and evidence costs per forward (`benchRecordLevels`) on a reference architecture or the model directory served at `arch` (e.g. models/fmnist-vit). */
    tokenscopeRecordLevels: (
      backend: BackendName,
      arch: string,
      plans: string[],
      options: BenchOptions,
    ) => Promise<{ rows: RecordLevelRow[]; machine: Record<string, unknown> }>;
    tokenscopeBundledRun: (backend: BackendName, plans: string[], images: number) => Promise<BundledRun[]>;
    /** Backend settings against each other: every (setting, plan) pair is one candidate of one interleaved run (tests/bench/backend-settings.ts). */
    tokenscopeBenchSettings: (
      backend: BackendName,
      arch: string,
      plans: string[],
      settings: string[],
      options: BenchOptions & { pool?: GpuPoolPolicy },
    ) => Promise<SettingsRow[]>;
  }
}

/** The bundled model's logits and token counts for one plan on the first images of the eval set. */
export interface BundledRun {
  plan: string;
  /** [images][classes]. */
  logits: number[][];
  /** Tokens entering each block and leaving the last, per image. */
  counts: number[][];
}

export interface SettingsRow {
  setting: string;
  plan: string;
  ms: number;
  ms_base: number;
  speedup: number;
  flop_ratio: number;
  realized: number;
  first_ms: number;
}

/**
 * Named backend settings, applied before every forward of a candidate. 'tfjs' is TF.js 4.22's own
 * WebGL TopK: below 100,000 values per row it reads the tensor back synchronously and sorts on the
 * CPU (every ToMe, PiToMe, MCTF and ATS layer sorts). 'gpu-topk' keeps TopK on the GPU (TF.js's
 * bitonic programs, ties to the lower index as on the CPU).
 */
const SETTINGS: Record<string, () => void> = {
  tfjs: () => {
    tf.env().set('TOPK_LAST_DIM_CPU_HANDOFF_SIZE_THRESHOLD', 100000);
    tf.env().set('TOPK_K_CPU_HANDOFF_THRESHOLD', 128);
  },
  'gpu-topk': () => {
    tf.env().set('TOPK_LAST_DIM_CPU_HANDOFF_SIZE_THRESHOLD', 0);
    tf.env().set('TOPK_K_CPU_HANDOFF_THRESHOLD', Number.MAX_SAFE_INTEGER);
  },
};

/** What the backend runs on: the WebGPU adapter, the WebGL renderer, or the CPU. */
async function describe(backend: string): Promise<Record<string, unknown>> {
  const info: Record<string, unknown> = {
    backend,
    userAgent: navigator.userAgent,
    cores: logicalCores(),
    tfjs: tf.version.tfjs,
    crossOriginIsolated: self.crossOriginIsolated,
  };
  if (backend === 'wasm') info.threads = getThreadsCount();
  if (backend === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null> } }).gpu;
    const adapter = await gpu?.requestAdapter();
    if (adapter)
      info.adapter = {
        ...(adapter.info ? { vendor: adapter.info.vendor, architecture: adapter.info.architecture, description: adapter.info.description } : {}),
        fallback: adapter.isFallbackAdapter ?? null,
      };
  }
  if (backend === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2');
    const ext = gl?.getExtension('WEBGL_debug_renderer_info');
    if (gl) info.renderer = ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  }
  return info;
}

window.tokenscopeBench = async (backend, arch, plans, options) => {
  await useBackend(backend);
  const config = archConfig(arch);
  const weights = randomWeights(config, 1);
  const { fused = 'on', ...rest } = options;
  setFusedKernelsEnabled(fused !== 'off');
  try {
    const rows = await benchPlans({ config, weights }, plans, {
      ...rest,
      variants: fused === 'compare' && ['webgpu', 'webgl'].includes(tf.getBackend()) ? FUSED_VARIANTS : undefined,
    });
    return { rows, machine: await describe(tf.getBackend()) };
  } finally {
    setFusedKernelsEnabled(true);
    tf.dispose(listWeights(weights));
  }
};
window.tokenscopeRecordLevels = async (backend, arch, plans, options) => {
  await useBackend(backend);
  const model = arch.includes('/')
    ? loadModelFromFiles(await (await fetch(`/${arch}/config.json`)).json(), new Uint8Array(await (await fetch(`/${arch}/model.safetensors`)).arrayBuffer()))
    : { config: archConfig(arch), weights: randomWeights(archConfig(arch), 1) };
  try {
    return { rows: await benchRecordLevels(model, plans, options), machine: await describe(tf.getBackend()) };
  } finally {
    tf.dispose(listWeights(model.weights));
  }
};
const bytes = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());

window.tokenscopeBundledRun = async (backend, plans, images) => {
  await useBackend(backend);
  const config = JSON.parse(new TextDecoder().decode(await bytes('/models/fmnist-vit/config.json')));
  const { model } = loadCheckpoint({ safetensors: await bytes('/models/fmnist-vit/model.safetensors'), config });
  const set = parseEvalSet(await bytes('/public/data/fmnist-test-1000.bin'));
  const [batch] = greyBatches(set, { batchSize: images, limit: images, mean: model.config.image_mean![0], std: model.config.image_std![0] });
  const x = tf.tensor4d(batch.pixels, [batch.count, set.size, set.size, 1]);
  try {
    const out: BundledRun[] = [];
    for (const plan of plans) {
      const { logits, traces } = await runForward(model, x, compilePlan(planFromText(plan, model.config.num_hidden_layers), model.config));
      out.push({ plan, logits: (await logits.array()) as number[][], counts: traces.map((t) => traceCounts(t)) });
      logits.dispose();
    }
    return out;
  } finally {
    x.dispose();
    tf.dispose(listWeights(model.weights));
  }
};
window.tokenscopeBenchSettings = async (backend, arch, plans, settings, { batch, runs, warmup, seed = 1, pool = 'keep-used' }) => {
  await useBackend(backend);
  setGpuPoolPolicy(pool);
  const config = archConfig(arch);
  const weights = randomWeights(config, 1);
  const pixels = tf.randomNormal([batch, config.image_size, config.image_size, config.num_channels], 0, 1, 'float32', seed) as tf.Tensor4D;
  const compiled = ['none', ...plans].map((text) => ({ text, plan: compilePlan(planFromText(text, config.num_hidden_layers), config) }));
  const flops = new Map<string, number>();
  try {
    const candidates = settings.flatMap((setting) =>
      compiled.map(({ text, plan }) => ({
        name: `${setting} ${text}`,
        run: async () => {
          SETTINGS[setting]();
          const { logits, traces } = await runForward({ config, weights }, pixels, plan);
          await logits.data();
          logits.dispose();
          if (!flops.has(text)) flops.set(text, planFlops(config, plan, traceCounts(traces[0])).model);
        },
      })),
    );
    const timings = await timeInterleaved(candidates, { runs, warmup });
    const ms = new Map(timings.map((t) => [t.name, t]));
    return settings.flatMap((setting) =>
      plans.map((plan) => {
        const t = ms.get(`${setting} ${plan}`)!;
        const base = ms.get(`${setting} none`)!;
        const speedup = base.medianMs / t.medianMs;
        const flopRatio = flops.get('none')! / flops.get(plan)!;
        return { setting, plan, ms: t.medianMs, ms_base: base.medianMs, speedup, flop_ratio: flopRatio, realized: speedup / flopRatio, first_ms: t.firstMs };
      }),
    );
  } finally {
    SETTINGS.tfjs();
    tf.dispose([pixels, ...listWeights(weights)]);
  }
};
window.tf = tf; // the page's TF.js, for scripts that drive it (tests/bench/sequence.ts)
document.getElementById('status')!.textContent = 'ready';
