import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useWasmBackend } from '../../../tests/helpers/tf';
import {
  forceKernelFailure,
  fusedFamilyOn,
  fusedFamilyStatus,
  fusedKernelNotes,
  kernelFailureForced,
  registerFusedFamily,
  resetFusedKernels,
  verifyFusedKernels,
} from './kernel-status';

useWasmBackend();

// The bookkeeping of the fused WebGPU families; the programs themselves run in Chromium
// (tests/e2e/webgpu-kernels.test.ts).
describe('fused kernel families', () => {
  let verdict: string | null = null;
  registerFusedFamily('test-family', 'Test', async () => verdict);
  registerFusedFamily('throwing-family', 'Thrower', async () => {
    throw new Error('device lost');
  });

  it('a family that fails its check is off, with a note that names it and why', async () => {
    verdict = 'shader rejected';
    await verifyFusedKernels('webgpu');
    expect(fusedFamilyStatus('test-family')).toEqual({ state: 'off', reason: 'shader rejected' });
    expect(fusedFamilyStatus('throwing-family')).toEqual({ state: 'off', reason: 'device lost' });
    expect(fusedKernelNotes()).toContain('WebGPU rejected the fused Test kernels (shader rejected); Test runs on generic TF.js ops instead.');
    expect(fusedFamilyOn('test-family')).toBe(false);
  });

  it('a family that passes is on, but runs only on WebGPU; a backend change forgets the check', async () => {
    verdict = null;
    await verifyFusedKernels('webgpu');
    expect(fusedFamilyStatus('test-family')).toEqual({ state: 'on' });
    expect(fusedKernelNotes().some((n) => n.includes('Test kernels'))).toBe(false);
    expect(tf.getBackend()).toBe('wasm');
    expect(fusedFamilyOn('test-family')).toBe(false); // not WebGPU
    resetFusedKernels();
    expect(fusedFamilyStatus('test-family')).toEqual({ state: 'unchecked' });
  });

  it('a WebGL family is checked only for WebGL, and its note names WebGL', async () => {
    registerFusedFamily('webgl-family', 'GL', async () => 'program rejected', 'webgl');
    await verifyFusedKernels('webgpu');
    expect(fusedFamilyStatus('webgl-family')).toEqual({ state: 'unchecked' });
    await verifyFusedKernels('webgl');
    expect(fusedFamilyStatus('webgl-family')).toEqual({ state: 'off', reason: 'program rejected' });
    expect(fusedFamilyStatus('test-family')).toEqual({ state: 'unchecked' });
    expect(fusedKernelNotes()).toContain('WebGL rejected the fused GL kernels (program rejected); GL runs on generic TF.js ops instead.');
    resetFusedKernels();
  });

  it('forcing a failure is a switch the programs read', () => {
    expect(kernelFailureForced('test-family')).toBe(false);
    forceKernelFailure('test-family');
    expect(kernelFailureForced('test-family')).toBe(true);
    forceKernelFailure('test-family', false);
    expect(kernelFailureForced('test-family')).toBe(false);
  });
});
