// The bench page: window.tokenscopeBench(backend, arch, plans, options) runs src/measure/bench.ts
// on that backend in this page and returns its rows plus a description of the machine as the
// browser sees it. Driven by `tokenscope bench --browser` (src/cli/bench-browser.ts).
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../../src/app/engine/backends';
import { type BenchOptions, type BenchRow, benchPlans, benchRecordLevels, type RecordLevelRow } from '../../src/measure/bench';
import { loadModelFromFiles } from '../../src/model/load';
import { archConfig } from '../../src/model/config';
import { listWeights, randomWeights } from '../../src/model/weights';

declare global {
  interface Window {
    tf: typeof tf;
    tokenscopeBench: (backend: BackendName, arch: string, plans: string[], options: BenchOptions) => Promise<{ rows: BenchRow[]; machine: Record<string, unknown> }>;
    /** What recording fates and evidence costs per forward (`benchRecordLevels`) on a reference architecture or the model directory served at `arch` (e.g. models/fmnist-vit). */
    tokenscopeRecordLevels: (backend: BackendName, arch: string, plans: string[], options: BenchOptions) => Promise<{ rows: RecordLevelRow[]; machine: Record<string, unknown> }>;
  }
}

/** What the backend runs on: the WebGPU adapter, the WebGL renderer, or the CPU. */
async function describe(backend: string): Promise<Record<string, unknown>> {
  const info: Record<string, unknown> = { backend, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency, tfjs: tf.version.tfjs };
  if (backend === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null> } }).gpu;
    const adapter = await gpu?.requestAdapter();
    if (adapter) info.adapter = { ...(adapter.info ? { vendor: adapter.info.vendor, architecture: adapter.info.architecture, description: adapter.info.description } : {}), fallback: adapter.isFallbackAdapter ?? null };
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
  try {
    const rows = await benchPlans({ config, weights }, plans, options);
    return { rows, machine: await describe(tf.getBackend()) };
  } finally {
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
window.tf = tf; // the page's TF.js, for scripts that drive it (tests/bench/sequence.ts)
document.getElementById('status')!.textContent = 'ready';
