import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useWasmBackend } from '../../tests/helpers/tf';
import { boundGpuMemory, gpuMemory, sizeClass, trimGpuPool } from './gpu-memory';

useWasmBackend();

describe('GPU memory policy', () => {
  it('rounds buffer sizes up to the next eighth of their power of two (tiny sizes as they are)', () => {
    expect(sizeClass(16)).toBe(16);
    expect(sizeClass(36)).toBe(40); // octave 64, steps of 8
    expect(sizeClass(1088)).toBe(1280); // 17 tokens × 16 wide × 4 bytes: octave 2048, steps of 256
    expect(sizeClass(896)).toBe(896);
    expect(sizeClass(900)).toBe(1024);
    expect(sizeClass(181 * 192 * 4)).toBe(sizeClass(197 * 192 * 4)); // DeiT-T after MCTF r=16 shares the unreduced width's class
    expect(sizeClass(2 ** 20)).toBe(2 ** 20);
    expect(sizeClass(2 ** 20 + 4)).toBe(2 ** 20 + 2 ** 18); // 2 MiB / 8 steps
    expect(sizeClass(197 * 768 * 4 * 32)).toBe(20 * 2 ** 20); // DeiT-T MLP at batch 32: 18.5 MiB → 20 MiB
  });

  it('does nothing on wasm: no GPU memory to report or trim, and the work runs as is', async () => {
    expect(gpuMemory()).toBeNull();
    expect(trimGpuPool()).toBe(0);
    const before = tf.memory().numTensors;
    expect(await boundGpuMemory(async () => 42)).toBe(42);
    expect(tf.memory().numTensors).toBe(before);
  });
});
