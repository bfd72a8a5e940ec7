import { describe, expect, it } from 'vitest';
import { gpuMemoryText } from './gpu-memory-text';

describe('gpuMemoryText', () => {
  it('gives held and in-use MiB on the GPU backends, naming the pool', () => {
    expect(gpuMemoryText('webgpu', { heldBytes: 34 * 2 ** 20 + 2 ** 19, inUseBytes: 22 * 2 ** 20 })).toBe(
      'GPU memory held by WebGPU: 34.5 MiB (22.0 MiB in live tensors, the rest buffers TF.js keeps for reuse; kept to what the last run used).',
    );
    expect(gpuMemoryText('webgl', { heldBytes: 2 ** 20, inUseBytes: 2 ** 19 })).toMatch(
      /^GPU memory held by WebGL: 1\.0 MiB \(0\.5 MiB in live tensors, the rest textures/,
    );
  });

  it('says not applicable on wasm and cpu', () => {
    expect(gpuMemoryText('wasm', null)).toBe('GPU memory: not applicable on wasm (its tensors live in the WebAssembly heap).');
    expect(gpuMemoryText('cpu', null)).toBe('GPU memory: not applicable on cpu (its tensors live in JavaScript memory).');
  });
});
