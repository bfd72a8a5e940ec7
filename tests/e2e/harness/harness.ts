// Exposes the engine probe to Playwright: window.tokenscopeProbe(backend, plans) -> results.
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../../../src/app/engine/backends';
import { runEngineProbe } from '../../helpers/engine-probe';
import { randomPlanForwards, sizeClassesAgree, type GpuMemoryRun, type SizesAgreement } from '../../helpers/gpu-memory-run';
import type { BufferSizes, GpuPoolPolicy } from '../../../src/model/gpu-memory';
import { TINY_VIT } from '../../helpers/tiny-vit';
import { archConfig } from '../../../src/model/config';

declare global {
  interface Window {
    tf: typeof tf;
    tokenscopeProbe: (backend: BackendName, plans: string[]) => Promise<unknown>;
    /** WebGPU: each plan with exact buffer sizes and with size classes (src/model/gpu-memory.ts), on 'tiny' or a reference architecture. */
    tokenscopeSizeClassesAgree: (plans: string[], options?: { model?: string; batch?: number; poison?: boolean }) => Promise<SizesAgreement[]>;
    /** Forwards of random plans on a small model ('tiny', tests/helpers/tiny-vit.ts) or a reference architecture, with the GPU memory held. */
    tokenscopeGpuMemory: (
      backend: BackendName,
      model: string,
      options: { forwards: number; policy?: GpuPoolPolicy; sampleEvery?: number; without?: string[]; sizes?: BufferSizes; replace?: boolean },
    ) => Promise<GpuMemoryRun>;
  }
}

window.tokenscopeProbe = async (backend, plans) => {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const results = await runEngineProbe(plans);
  return { backend: tf.getBackend(), results, leaked: tf.memory().numTensors - before };
};
window.tokenscopeGpuMemory = async (backend, model, options) => {
  await useBackend(backend);
  return randomPlanForwards(model === 'tiny' ? TINY_VIT : archConfig(model), options);
};
window.tokenscopeSizeClassesAgree = async (plans, { model = 'tiny', ...options } = {}) => {
  await useBackend('webgpu');
  return sizeClassesAgree(model === 'tiny' ? TINY_VIT : archConfig(model), plans, options);
};
window.tf = tf; // for ad-hoc debugging from the test driver
document.getElementById('status')!.textContent = 'ready';
