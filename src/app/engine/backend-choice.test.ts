import { describe, expect, it } from 'vitest';
import { backendOrder } from './backend-choice';
import type { BackendProbe } from '../worker/protocol';

const probes = (webgpu: Partial<BackendProbe>, webgl: Partial<BackendProbe>): BackendProbe[] => [
  { name: 'webgpu', available: true, software: false, detail: 'NVIDIA', ...webgpu },
  { name: 'webgl', available: true, software: false, detail: 'ANGLE (NVIDIA)', ...webgl },
  { name: 'wasm', available: true, software: false, detail: '' },
  { name: 'cpu', available: true, software: false, detail: '' },
];

describe('backendOrder', () => {
  it('backendOrder prefers hardware WebGPU, then WebGL, then wasm, then cpu', () => {
    expect(backendOrder('auto', probes({}, {}))).toEqual({ order: ['webgpu', 'webgl', 'wasm', 'cpu'], notes: [] });
  });

  it('backendOrder puts software adapters after wasm and says why', () => {
    const { order, notes } = backendOrder('auto', probes({ software: true, detail: 'google swiftshader' }, { software: true, detail: 'ANGLE (SwiftShader)' }));
    expect(order).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/WebGPU skipped: .*software renderer \(google swiftshader\)/);
  });

  it('backendOrder skips an unavailable backend with its reason', () => {
    const { order, notes } = backendOrder('auto', probes({ available: false, detail: 'no adapter' }, {}));
    expect(order).toEqual(['webgl', 'wasm', 'cpu']);
    expect(notes).toEqual(['WebGPU skipped: no adapter.']);
  });

  it('backendOrder puts an explicit choice first, software or not, with a warning', () => {
    const { order, notes } = backendOrder('webgpu', probes({ software: true, detail: 'swiftshader' }, { software: true, detail: 'swiftshader' }));
    expect(order).toEqual(['webgpu', 'wasm', 'webgl', 'cpu']);
    expect(notes[0]).toMatch(/software renderer/);
  });
});
