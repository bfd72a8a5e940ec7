import { describe, expect, it } from 'vitest';
import { METHOD_IDS } from '../../reduce/plan';
import { type CompareContext, defaultCompareState, formatCompareUrl, parseCompareUrl } from './url';

const ctx: CompareContext = { depth: 6, isSample: (id) => ['fm-coat', 'fm-ankle-boot'].includes(id), defaultSample: 'fm-ankle-boot' };

describe('parseCompareUrl', () => {
  it('parseCompareUrl reads every field and formatCompareUrl writes it back', () => {
    const search =
      '?model=timm/deit_tiny_patch16_224.fb_in1k&methods=tome,evit&n=40&y=agreement&budget=60%25&plans=tome:r=4;evit:keep=0.5&sample=fm-coat&layer=3&backend=wasm&lesson=pareto&step=2';
    const { state, problems } = parseCompareUrl(search, ctx);
    expect(problems).toEqual([]);
    expect(state).toEqual({
      model: 'timm/deit_tiny_patch16_224.fb_in1k',
      methods: ['tome', 'evit'],
      n: 40,
      y: 'agreement',
      budget: '60%',
      plans: ['tome:r=4', 'evit:keep=0.5'],
      sample: 'fm-coat',
      layer: 3,
      backend: 'wasm',
      lesson: 'pareto',
      step: 2,
    });
    expect(parseCompareUrl(formatCompareUrl(state, ctx), ctx).state).toEqual(state);
  });

  it('parseCompareUrl keeps defaults for bad values and reports each in words', () => {
    const { state, problems } = parseCompareUrl('?methods=tome,magic&n=5000&plans=tome&layer=9&budget=lots&lesson=%3Cscript%3E', ctx);
    expect(state).toEqual(defaultCompareState(ctx));
    expect(state.methods).toEqual(METHOD_IDS);
    expect(problems).toHaveLength(6);
    expect(problems[5]).toMatch(/Ignored lesson .* not a lesson of this page/);
    expect(problems[0]).toMatch(/Ignored methods "tome,magic"/);
  });

  it('formatCompareUrl omits defaults', () => {
    expect(formatCompareUrl(defaultCompareState(ctx), ctx)).toBe('');
  });
});
