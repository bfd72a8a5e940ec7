// Exposes the engine probe to Playwright: window.tokenscopeProbe(backend, plans) -> results.
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../../../src/app/engine/backends';
import { runEngineProbe } from '../../helpers/engine-probe';

declare global {
  interface Window {
    tf: typeof tf;
    tokenscopeProbe: (backend: BackendName, plans: string[]) => Promise<unknown>;
  }
}

window.tokenscopeProbe = async (backend, plans) => {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const results = await runEngineProbe(plans);
  return { backend: tf.getBackend(), results, leaked: tf.memory().numTensors - before };
};
window.tf = tf; // for ad-hoc debugging from the test driver
document.getElementById('status')!.textContent = 'ready';
