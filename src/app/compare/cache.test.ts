import { describe, expect, it } from 'vitest';
import { MemoryCache, scoreKey } from './cache';

const parts = { model: 'abc123', data: 'bundled:data/fmnist-test-1000.bin:f00:n=40', backend: 'wasm', batch: 25, plan: 'tome:r=8', depth: 6 };

describe('scoreKey', () => {
  it('scoreKey names model, images, backend, batch and the canonical plan', () => {
    expect(scoreKey(parts)).toBe('tokenscope-score/v1|model=abc123|data=bundled:data/fmnist-test-1000.bin:f00:n=40|backend=wasm|batch=25|plan=tome');
  });

  it('scoreKey gives one key to two spellings of the same plan', () => {
    expect(scoreKey({ ...parts, plan: 'tome' })).toBe(scoreKey(parts));
    expect(scoreKey({ ...parts, plan: 'evit:keep=0.7,layers=1/3/4' })).toBe(scoreKey({ ...parts, plan: 'evit' }));
  });

  it('scoreKey differs when the model, the images, the backend, the batch or the plan differ', () => {
    const keys = [
      scoreKey(parts),
      scoreKey({ ...parts, model: 'abc124' }),
      scoreKey({ ...parts, data: 'bundled:data/fmnist-test-1000.bin:f00:n=41' }),
      scoreKey({ ...parts, backend: 'webgpu' }),
      scoreKey({ ...parts, batch: 100 }),
      scoreKey({ ...parts, plan: 'tome:r=4' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("scoreKey throws for a plan that does not parse, with the parser's code", () => {
    expect(() => scoreKey({ ...parts, plan: 'tome:r=oops' })).toThrow(expect.objectContaining({ code: 'param-out-of-range' }));
    expect(() => scoreKey({ ...parts, plan: 'magic' })).toThrow(expect.objectContaining({ code: 'plan-invalid' }));
  });
});

describe('MemoryCache', () => {
  it('MemoryCache returns what was put and drops the oldest entry past its cap', async () => {
    const c = new MemoryCache(2);
    const v = (plan: string) => ({ computedAt: 't', score: { plan, n: 1, accuracy: 1, agreement: 1, kl: 0, gflops: 1, overheadGflops: 0, meanTokens: [] } });
    await c.put('a', v('a'));
    await c.put('b', v('b'));
    await c.put('c', v('c'));
    expect(await c.get('a')).toBeUndefined();
    expect((await c.get('c'))?.score.plan).toBe('c');
    expect(c.size).toBe(2);
  });
});
