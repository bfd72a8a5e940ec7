import { describe, expect, it } from 'vitest';
import type { SweepRow } from './protocol';
import { budgetGflops, paretoFront, parseBudget, playgroundHref, provenance } from './rows';

const row = (plan: string, gflops: number, accuracy: number | null, kl = 0): SweepRow => ({
  method: 'tome',
  plan,
  gflops,
  accuracy,
  agreement: 1,
  kl,
  param: null,
  value: null,
  overheadGflops: 0,
  cached: false,
  computedAt: '',
});

describe('parseBudget', () => {
  it('parseBudget reads GFLOPs or a percentage, as --budget does', () => {
    expect(parseBudget('0.006')).toEqual({ ok: true, value: { kind: 'gflops', value: 0.006 } });
    expect(parseBudget(' 60% ')).toEqual({ ok: true, value: { kind: 'percent', value: 60 } });
    expect(budgetGflops({ kind: 'percent', value: 50 }, 0.012)).toBeCloseTo(0.006, 15);
  });

  it('parseBudget refuses text, zero and more than 100%', () => {
    for (const bad of ['', 'abc', '-1', '0', '120%', '1e3']) expect(parseBudget(bad).ok, bad).toBe(false);
  });
});

describe('paretoFront', () => {
  it('paretoFront keeps the points nothing beats on both cost and accuracy, cheapest first', () => {
    const rows = [row('a', 10, 0.9), row('b', 8, 0.9), row('c', 6, 0.8), row('d', 7, 0.7), row('e', 4, 0.5), row('f', 5, null)];
    expect(paretoFront(rows, 'accuracy').map((r) => r.plan)).toEqual(['e', 'c', 'b']);
  });

  it('paretoFront prefers lower KL', () => {
    expect(paretoFront([row('a', 10, 1, 0), row('b', 5, 1, 0.2), row('c', 6, 1, 0.3)], 'kl').map((r) => r.plan)).toEqual(['b', 'a']);
  });
});

describe('provenance and links', () => {
  it('provenance says where a live number comes from', () => {
    expect(provenance({ kind: 'bundled', name: 'x', n: 1000, labelled: true, key: '' })).toBe('live on the bundled set (1,000 images)');
    expect(provenance({ kind: 'images', name: 'x', n: 1, labelled: false, key: '' })).toBe('live on your images (1 image)');
    expect(provenance({ kind: 'images', name: 'x', n: 5, labelled: true, key: '' })).toBe('live on your images (5 images, labelled by folder)');
  });

  it('playgroundHref opens the plan in index.html with a readable query', () => {
    expect(playgroundHref('evit:keep=0.5,layers=1/3+tome:r=2', { backend: 'wasm' })).toBe('index.html?v=1&plan=evit:keep=0.5,layers=1/3%2Btome:r=2&backend=wasm');
    expect(playgroundHref('none')).toBe('index.html?v=1');
  });
});
