import { describe, expect, it } from 'vitest';
import { formatPlan, planFromText } from '../../reduce/plan';
import { assignLayer, layerOwners, setParam, toggleMethod } from './plan-edit';

const p = (text: string) => planFromText(text, 6);

describe('plan edits', () => {
  it('toggleMethod on adds the method with its defaults on its free default layers', () => {
    expect(formatPlan(toggleMethod(p('none'), 'evit', true))).toBe('evit');
    expect(formatPlan(toggleMethod(p('evit'), 'tome', true))).toBe('evit+tome:layers=0/2/5');
  });

  it('toggleMethod on takes the default layers back when none are free', () => {
    expect(formatPlan(toggleMethod(p('tome'), 'evit', true))).toBe('tome:layers=0/2/5+evit');
  });

  it('GTP runs alone: switching it on replaces the other methods, and another method replaces it', () => {
    expect(formatPlan(toggleMethod(p('evit+tome:layers=0'), 'gtp', true))).toBe('gtp');
    expect(formatPlan(toggleMethod(p('gtp:p=2'), 'evit', true))).toBe('evit');
  });

  it('toggleMethod off removes every segment of the method', () => {
    expect(formatPlan(toggleMethod(p('tome:layers=0+evit:layers=1+tome:r=2,layers=2'), 'tome', false))).toBe('evit:layers=1');
  });

  it('setParam changes the first segment of the method only', () => {
    expect(formatPlan(setParam(p('tome:layers=0-2+tome:layers=3-5'), 'tome', 'r', 3))).toBe('tome:r=3,layers=0-2+tome:layers=3-5');
  });

  it('assignLayer moves a block between methods and drops emptied segments', () => {
    expect(formatPlan(assignLayer(p('evit:layers=1'), 1, 'topk'))).toBe('topk:layers=1');
    expect(formatPlan(assignLayer(p('evit:layers=1'), 3, 'evit'))).toBe('evit:layers=1/3'); // (1/3/4 is evit's default at depth 6)
    expect(formatPlan(assignLayer(p('evit:layers=1'), 1, null))).toBe('none');
  });

  it('layerOwners names the method at each block', () => {
    expect(layerOwners(p('evit:layers=1+tome:layers=3-4'))).toEqual([null, 'evit', null, 'tome', 'tome', null]);
  });

  it('every edit yields text the parser accepts', () => {
    let plan = p('none');
    for (const m of ['tome', 'pitome', 'evit', 'topk', 'ats', 'mctf'] as const) plan = toggleMethod(plan, m, true);
    expect(planFromText(formatPlan(plan), 6)).toEqual(plan);
  });
});
