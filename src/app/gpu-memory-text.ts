/**
 * The playground's line on GPU memory, next to the tensor count: what the GPU backend holds (live
 * tensors plus TF.js's free pool kept for reuse, which src/model/gpu-memory.ts bounds), or why
 * there is no such number on wasm and cpu.
 */
import type { BackendName } from '../model/backend';

export interface GpuMemoryShown {
  heldBytes: number;
  inUseBytes: number;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function gpuMemoryText(backend: BackendName, gpu: GpuMemoryShown | null): string {
  if (!gpu) return `GPU memory: not applicable on ${backend} (its tensors live in ${backend === 'wasm' ? 'the WebAssembly heap' : 'JavaScript memory'}).`;
  const what = backend === 'webgl' ? 'textures' : 'buffers';
  return `GPU memory held by ${backend === 'webgl' ? 'WebGL' : 'WebGPU'}: ${mib(gpu.heldBytes)} (${mib(gpu.inUseBytes)} in live tensors, the rest ${what} TF.js keeps for reuse; kept to what the last run used).`;
}
