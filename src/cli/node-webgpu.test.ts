import { describe, expect, it } from 'vitest';
import { startNodeWebGpu } from './node-webgpu';

describe('WebGPU in Node (Dawn bindings, optional)', () => {
  it('without the bindings, says what is missing and how to install it, and registers nothing', async () => {
    const missing = 'tokenscope-no-such-dawn-bindings';
    const error = await startNodeWebGpu(missing).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe('backend-unavailable');
    expect(error?.message).toMatch(/needs Dawn's Node bindings, which are not installed/);
    expect(error?.message).toContain(`npm install --no-save ${missing}`);
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
  });
});
