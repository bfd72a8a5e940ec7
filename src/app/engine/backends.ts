/**
 * Registers the browser backends. WebGPU comes from its own package; wasm needs its .wasm files
 * served, so Vite hands us their URLs (`?url`) and setWasmPaths points TF.js at them. TF.js picks
 * the threaded SIMD file where SharedArrayBuffer exists (a cross-origin isolated page); the thread
 * count must be set before the backend starts.
 */
import '@tensorflow/tfjs-backend-webgpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { canShareMemory, isolationFacts, logicalCores, plannedWasmThreads, unhalveTfjsCores } from './threads';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
});

/** Sets the wasm thread count (before the backend starts; `tokenscope bench --browser --threads` overrides it). */
export function setWasmThreads(count: number): void {
  setThreadsCount(count);
}

const cores = logicalCores();
const shared = canShareMemory(isolationFacts());
if (shared) unhalveTfjsCores();
setWasmThreads(plannedWasmThreads(cores, shared));

export { BACKENDS, useBackend, type BackendName } from '../../model/backend';
