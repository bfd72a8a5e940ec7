/**
 * Which TF.js backend runs the model. The automatic order is WebGPU → WebGL → WASM → CPU, but a
 * software GPU adapter (SwiftShader, llvmpipe, a WebGPU fallback adapter) is 7–39× slower than
 * wasm here, so automatic choice puts software adapters after wasm. `backendOrder` is pure;
 * `probeBackends` asks the browser (worker-safe: OffscreenCanvas, navigator.gpu).
 */
import type { BackendName } from '../../model/backend';
import type { BackendChoice } from '../state/url-fields';
import type { BackendProbe } from '../worker/protocol';
import { SOFTWARE_ADAPTER as SOFTWARE } from '../../tokens/webgpu/software-adapter';

const NAMES: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };
export const backendLabel = (b: BackendName) => NAMES[b];

/**
 * The order to try backends in, and the reasons in words. An explicit choice comes first; the rest
 * follow in the automatic order as fallbacks.
 */
export function backendOrder(choice: BackendChoice, probes: BackendProbe[]): { order: BackendName[]; notes: string[] } {
  const notes: string[] = [];
  const probe = (n: BackendName) => probes.find((p) => p.name === n) ?? { name: n, available: true, software: false, detail: '' };
  const gpus: BackendName[] = ['webgpu', 'webgl'];
  const hardware = gpus.filter((n) => probe(n).available && !probe(n).software);
  const software = gpus.filter((n) => probe(n).available && probe(n).software);
  const auto: BackendName[] = [...hardware, 'wasm', ...software, 'cpu'];
  if (choice === 'auto') {
    for (const n of gpus) {
      const p = probe(n);
      if (!p.available) notes.push(`${NAMES[n]} skipped: ${p.detail || 'not available'}.`);
      else if (p.software) notes.push(`${NAMES[n]} skipped: its adapter is a software renderer (${p.detail}), slower than WASM here.`);
    }
    return { order: auto, notes };
  }
  const chosen = probe(choice);
  if (!chosen.available) notes.push(`${NAMES[choice]} was asked for but is not available: ${chosen.detail || 'no details'}.`);
  else if (chosen.software) notes.push(`${NAMES[choice]} runs on a software renderer here (${chosen.detail}): expect it to be slower than WASM.`);
  return { order: [choice, ...auto.filter((n) => n !== choice)], notes };
}

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  requestAdapterInfo?: () => Promise<GpuAdapterLike['info']>;
}

async function probeWebGpu(): Promise<BackendProbe> {
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return { name: 'webgpu', available: false, software: false, detail: 'this browser exposes no WebGPU' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { name: 'webgpu', available: false, software: false, detail: 'no WebGPU adapter was offered' };
    const info = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : undefined) ?? {};
    const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
    const fallback = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true;
    return {
      name: 'webgpu',
      available: true,
      software: fallback || SOFTWARE.test(text),
      detail: (fallback ? 'fallback adapter ' : '') + (text || 'unnamed adapter'),
    };
  } catch (e) {
    return { name: 'webgpu', available: false, software: false, detail: `requesting an adapter failed: ${(e as Error).message}` };
  }
}

function probeWebGl(): BackendProbe {
  if (typeof OffscreenCanvas === 'undefined') return { name: 'webgl', available: false, software: false, detail: 'no OffscreenCanvas in this worker' };
  try {
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) return { name: 'webgl', available: false, software: false, detail: 'no WebGL2 context' };
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { name: 'webgl', available: true, software: SOFTWARE.test(renderer), detail: renderer };
  } catch (e) {
    return { name: 'webgl', available: false, software: false, detail: `creating a context failed: ${(e as Error).message}` };
  }
}

export async function probeBackends(): Promise<BackendProbe[]> {
  return [
    await probeWebGpu(),
    probeWebGl(),
    { name: 'wasm', available: typeof WebAssembly === 'object', software: false, detail: 'WebAssembly (SIMD where supported)' },
    { name: 'cpu', available: true, software: false, detail: 'plain JavaScript' },
  ];
}
