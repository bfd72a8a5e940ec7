import { describe, expect, it } from 'vitest';
import { formatPlan, parsePlan, planFromText } from './plan';

describe('parsePlan', () => {
  const accepted = [
    'none',
    'tome:r=13',
    'tome:r=16,inflect=-1',
    'evit:keep=0.7,layers=3/6/9',
    'evit:keep=0.7,layers=3/6/9,fuse=0',
    'topk:keep=0.7,layers=3/6/9',
    'ats:layers=3-11',
    'pitome:ratio=0.9',
    'mctf:r=16',
    'evit:keep=0.7,layers=3+tome:r=8,layers=4-11',
    'gtp:p=8,graph=mixed,alpha=0.1,neighbours=8,sparsity=1,scale=0',
    'gtp:p=4,graph=semantic,sparsity=0.7,scale=1,layers=2-11',
  ];
  for (const text of accepted) {
    it(`accepts '${text}' and round-trips through its canonical text`, () => {
      const plan = planFromText(text, 12);
      expect(planFromText(formatPlan(plan), 12)).toEqual(plan);
    });
  }

  it("fills in the papers' default layers for a 12-block model", () => {
    const layers = (t: string) => planFromText(t, 12).segments[0].layers;
    expect(layers('evit')).toEqual([3, 6, 9]);
    expect(layers('topk')).toEqual([3, 6, 9]);
    expect(layers('ats')).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(layers('tome')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(layers('pitome')).toHaveLength(12);
    expect(layers('mctf')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("scales EViT's default layers with depth", () => {
    expect(planFromText('evit', 8).segments[0].layers).toEqual([2, 4, 6]);
    expect(planFromText('evit', 6).segments[0].layers).toEqual([1, 3, 4]);
  });

  it('reads parameter values and switches', () => {
    const s = planFromText('evit:keep=0.5,fuse=0', 12).segments[0];
    expect(s.params).toEqual({ keep: 0.5, fuse: false });
    expect(planFromText('tome:r=16,inflect=-1', 12).segments[0].params).toEqual({ r: 16, inflect: -1, prop: true });
  });

  it('writes defaults out of the canonical text', () => {
    expect(formatPlan(planFromText('evit:keep=0.7,layers=3/6/9,fuse=1', 12))).toBe('evit');
    expect(formatPlan(planFromText('ats:layers=3-11', 12))).toBe('ats');
    expect(formatPlan(planFromText('tome:r=8,layers=4-11', 12))).toBe('tome:layers=4-11');
    expect(formatPlan(planFromText('tome:r=13', 12))).toBe('tome:r=13');
  });

  const rejected: [string, RegExp][] = [
    ['tomee:r=8', /unknown method 'tomee'.*methods: tome, pitome, evit, topk, ats, mctf/],
    ['tome:q=8', /unknown parameter 'q' for tome.*parameters: r, inflect, prop, layers/],
    ['evit:keep=1.4', /keep must be a number in \(0, 1\]/],
    ['evit:keep=0', /keep must be a number in \(0, 1\]/],
    ['tome:r=2.5', /r must be an integer/],
    ['tome:r=-1', /r must be an integer in \[0, 4096\]/],
    ['tome:r=abc', /r must be an integer/],
    ['evit:fuse=2', /fuse is a switch, use 0 or 1/],
    ['evit:layers=12', /layer 12 does not exist in a 12-block model/],
    ['evit:layers=5-3', /runs backwards/],
    ['evit:layers=3,,', /empty parameter in 'evit:layers=3,,'/],
    ['tome+evit', /layer 3 is claimed by both 'tome' and 'evit'/],
    ['tome:r', /'r' in 'tome:r' needs a value/],
    ['tome:r=8,r=9', /given twice/],
    ['tome++evit', /empty segment/],
    ['pitome:ratio=0.3', /ratio must be a number in \[0.5, 1\]/],
    ['ats:k=5', /ATS cap must be 0 \(none\), a fraction <= 1, or a count >= 8/],
  ];
  for (const [text, message] of rejected) {
    it(`rejects '${text}' naming the bad part`, () => {
      const parsed = parsePlan(text, 12);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error.message).toMatch(message);
    });
  }

  it('tags out-of-range values param-out-of-range and syntax errors plan-invalid', () => {
    const range = parsePlan('evit:keep=2', 12);
    const syntax = parsePlan('nope', 12);
    expect(!range.ok && range.error.code).toBe('param-out-of-range');
    expect(!syntax.ok && syntax.error.code).toBe('plan-invalid');
  });
});
