import { describe, expect, it } from 'vitest';
import { archConfig } from '../model/config';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import type { MethodId } from '../reduce/types';
import { scheduledFlops } from './plan-flops';
import { solveBudget, sweepPlans } from './sweep';

const deitS = archConfig('deit-s');
const gflops = (plan: string) => scheduledFlops(deitS, compilePlan(planFromText(plan, 12), deitS))!.report.model / 1e9;

describe('solveBudget', () => {
  it('lands on ToMe r=13 at the published 2.708 GFLOPs on DeiT-S', () => {
    expect(solveBudget('tome', deitS, 2.7083)).toMatchObject({ plan: 'tome:r=13' });
    expect(solveBudget('tome', deitS, 2.7)).toMatchObject({ plan: 'tome:r=14' });
  });

  for (const method of ['tome', 'pitome', 'evit', 'topk', 'mctf'] as MethodId[]) {
    it(`picks, for ${method}, the setting closest to 3.0 GFLOPs without exceeding it`, () => {
      const choice = solveBudget(method, deitS, 3.0)!;
      expect(choice.gflops).toBeLessThanOrEqual(3.0);
      expect(choice.gflops).toBeCloseTo(gflops(choice.plan), 9);
      // one step weaker would exceed the budget
      const weaker = ['tome', 'mctf'].includes(method) ? choice.value - 1 : Number((choice.value + (method === 'pitome' ? 0.0025 : 0.01)).toFixed(6));
      expect(gflops(`${method}:${choice.param}=${weaker}`)).toBeGreaterThan(3.0);
    });
  }

  it('returns null when even the strongest setting costs more than the budget', () => {
    expect(solveBudget('evit', deitS, 0.5)).toBeNull();
  });
});

describe('sweepPlans', () => {
  it("sweeps the papers' DeiT values scaled to the model: r up to (N0-1)/depth", () => {
    const plans = sweepPlans(['tome', 'evit'], deitS).map((p) => p.plan);
    expect(plans).toEqual(['tome:r=4', 'tome:r=8', 'tome:r=12', 'tome:r=16', 'evit:keep=0.9', 'evit:keep=0.7', 'evit:keep=0.5', 'evit:keep=0.3']);
  });
});
