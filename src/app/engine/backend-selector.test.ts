import { describe, expect, it } from 'vitest';
import { BackendSelector } from './backend-selector';

const probes = [
  { name: 'webgpu' as const, available: true, software: false, detail: 'test adapter' },
  { name: 'wasm' as const, available: true, software: false, detail: 'wasm' },
];

describe('BackendSelector and the fused WebGPU kernels', () => {
  const note = 'WebGPU rejected the fused ToMe kernels (bad shader); ToMe runs on generic TF.js ops instead.';
  const selector = (started: string[]) =>
    new BackendSelector({
      useBackend: async (name) => void started.push(name),
      probeBackends: async () => probes,
      threads: () => ({ threads: null, note: null }),
      kernelNotes: () => [note],
    });

  it('puts a rejected kernel family in the notes of the backend line when WebGPU runs', async () => {
    const started: string[] = [];
    const report = await selector(started).choose('webgpu');
    expect(started).toEqual(['webgpu']);
    expect(report.active).toBe('webgpu');
    expect(report.notes).toContain(note);
  });

  it('says nothing of WebGPU kernels when another backend runs', async () => {
    const report = await selector([]).choose('wasm');
    expect(report.active).toBe('wasm');
    expect(report.notes).not.toContain(note);
  });
});
