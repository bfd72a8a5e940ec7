import { describe, expect, it } from 'vitest';
import { MAX_WASM_THREADS, plannedWasmThreads, threadReport } from './threads';

const isolated = { crossOriginIsolated: true, hasSharedArrayBuffer: true };
const plain = { crossOriginIsolated: false, hasSharedArrayBuffer: false };

describe('plannedWasmThreads', () => {
  it('asks for one thread per logical core, capped', () => {
    expect(plannedWasmThreads(2, true)).toBe(2);
    expect(plannedWasmThreads(6, true)).toBe(6);
    expect(plannedWasmThreads(64, true)).toBe(MAX_WASM_THREADS);
  });

  it('asks for one thread when memory cannot be shared or the core count is unknown', () => {
    expect(plannedWasmThreads(16, false)).toBe(1);
    expect(plannedWasmThreads(undefined, true)).toBe(1);
    expect(plannedWasmThreads(0, true)).toBe(1);
  });
});

describe('threadReport', () => {
  it('reports TF.js’s own wasm thread count, with no note when threads run', () => {
    expect(threadReport('wasm', 2, isolated, 2)).toEqual({ threads: 2, note: null });
  });

  it('explains one wasm thread on a multi-core machine without isolation', () => {
    const r = threadReport('wasm', 1, plain, 8);
    expect(r.threads).toBe(1);
    expect(r.note).toMatch(/one thread: this browser offers no SharedArrayBuffer here, so the 8 cores/);
    expect(threadReport('wasm', 1, { crossOriginIsolated: false, hasSharedArrayBuffer: true }, 4).note).toMatch(/not cross-origin isolated/);
  });

  it('says so when isolation is there but the threaded build did not start', () => {
    expect(threadReport('wasm', 1, isolated, 4).note).toMatch(/threaded WebAssembly build did not start/);
  });

  it('needs no note on a one-core machine, and counts no CPU threads for GPU backends', () => {
    expect(threadReport('wasm', 1, plain, 1)).toEqual({ threads: 1, note: null });
    expect(threadReport('cpu', 1, plain, 8)).toEqual({ threads: 1, note: null });
    expect(threadReport('webgpu', 1, isolated, 8)).toEqual({ threads: null, note: null });
  });
});

describe('unhalveTfjsCores', () => {
  it('shows TF.js twice the logical cores once, and remembers the real count', async () => {
    const { unhalveTfjsCores, logicalCores } = await import('./threads');
    const nav = { hardwareConcurrency: 2 } as Navigator;
    unhalveTfjsCores(nav);
    expect(nav.hardwareConcurrency).toBe(4);
    expect(logicalCores()).toBe(2);
    unhalveTfjsCores(nav);
    expect(nav.hardwareConcurrency).toBe(4);
  });
});
