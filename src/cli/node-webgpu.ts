/**
 * WebGPU in Node, for a machine with a GPU and no browser (`tokenscope bench --backend webgpu`):
 * Dawn, the WebGPU implementation inside Chromium, through its Node bindings (the `webgpu` npm
 * package). TF.js's WebGPU backend registers itself only where `navigator.gpu` exists, so the
 * bindings are installed as `navigator.gpu` first and the backend is imported after.
 *
 * Not a dependency: the package is ~50 MB of prebuilt binaries for every platform, and the tests
 * and the site need none of it. Install it where it is wanted: `npm install --no-save webgpu`.
 */
import { TokenScopeError } from '../errors';

interface DawnBindings {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}
interface DawnGpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<{ info?: Record<string, unknown> } | null>;
}

/** The npm package of Dawn's Node bindings. */
export const DAWN_PACKAGE = 'webgpu';

/**
 * Starts Dawn and registers TF.js's WebGPU backend on it; returns what the adapter says it is.
 * Once per process.
 */
export async function startNodeWebGpu(bindings = DAWN_PACKAGE): Promise<Record<string, unknown>> {
  let dawn: DawnBindings;
  try {
    dawn = (await import(/* @vite-ignore */ bindings)) as DawnBindings;
  } catch (e) {
    throw new TokenScopeError(
      'backend-unavailable',
      `--backend webgpu in Node needs Dawn's Node bindings, which are not installed (${(e as Error).message.split('\n')[0]}): run \`npm install --no-save ${bindings}\`, or use --browser`,
    );
  }
  Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUMapMode, ... as in a browser
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new TokenScopeError('backend-unavailable', 'Dawn found no WebGPU adapter on this machine (no Vulkan driver for the GPU?)');
  if (typeof globalThis.navigator === 'undefined') Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
  Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  const { vendor, architecture, device, description } = adapter.info ?? {};
  return { vendor, architecture, device, description };
}
