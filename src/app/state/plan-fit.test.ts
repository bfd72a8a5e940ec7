import { describe, expect, it } from 'vitest';
import { fitPlan } from './plan-fit';

describe('fitPlan', () => {
  it('keeps a plan that is valid for the new depth (default layers follow the depth)', () => {
    expect(fitPlan('evit:keep=0.5', 12)).toEqual({ plan: 'evit:keep=0.5', problem: null });
    expect(fitPlan('tome:r=4,layers=0-5', 12)).toEqual({ plan: 'tome:r=4,layers=0-5', problem: null });
  });

  it('drops layers past the last block: 12-block 3/6/9 on 6 blocks keeps 3', () => {
    const fitted = fitPlan('evit:keep=0.5,layers=3/6/9', 6);
    expect(fitted.plan).toBe('evit:keep=0.5,layers=3');
    expect(fitted.problem).toMatch(/layer 6 does not exist in a 6-block model/);
  });

  it('clips a range to the last block: tome layers 2-11 on 6 blocks → 2-5', () => {
    expect(fitPlan('tome:r=5,layers=2-11', 6).plan).toBe('tome:r=5,layers=2-5');
  });

  it('a segment left without layers falls back to its default layers for the new depth', () => {
    // topk's default on 6 blocks is ⌊6/4⌋, ⌊6/2⌋, ⌊18/4⌋ = 1/3/4
    expect(fitPlan('topk:keep=0.5,layers=8/10', 6).plan).toBe('topk:keep=0.5');
  });

  it('drops a later segment that then collides with an earlier one, keeping the rest', () => {
    // evit keeps layer 3; tome 7-11 has nothing left and would take every layer by default.
    const fitted = fitPlan('evit:keep=0.5,layers=3+tome:r=5,layers=7-11', 6);
    expect(fitted.plan).toBe('evit:keep=0.5,layers=3');
    expect(fitted.problem).not.toBeNull();
  });

  it('falls back to none for text that cannot be repaired, with the parser’s message', () => {
    expect(fitPlan('warp:speed=9', 6)).toEqual({ plan: 'none', problem: expect.stringMatching(/unknown method 'warp'/) });
  });
});
