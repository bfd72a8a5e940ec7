import { describe, expect, it } from 'vitest';
import { fidelity, klDivergence, softmax, topK } from './fidelity';

describe('fidelity', () => {
  it('softmax of equal logits is uniform and survives large values', () => {
    expect(softmax([1000, 1000])).toEqual([0.5, 0.5]);
  });

  it('klDivergence is 0 for equal distributions and matches a hand computation', () => {
    expect(klDivergence([0.5, 0.5], [0.5, 0.5])).toBe(0);
    expect(klDivergence([1, 0], [0.5, 0.5])).toBeCloseTo(Math.log(2), 12);
  });

  it('topK sorts by probability, lower index first on ties, with labels', () => {
    expect(topK([0.2, 0.5, 0.2, 0.1], { 0: 'a', 1: 'b', 2: 'c', 3: 'd' }, 3).map((r) => r.label)).toEqual(['b', 'a', 'c']);
  });

  it('fidelity reports agreement of the top-1 classes', () => {
    const labels = { 0: 'a', 1: 'b' };
    expect(fidelity([0, 1], [0, 2], labels).agree).toBe(true);
    expect(fidelity([1, 0], [0, 2], labels).agree).toBe(false);
  });
});
