import { describe, expect, it } from 'vitest';
import { defaultUrlState, formatUrl, parseUrl } from './url';
import type { UrlContext } from './url-codec';

const ctx: UrlContext = { depth: 6, isSample: (id) => ['fm-ankle-boot', 'chelsea'].includes(id), defaultSample: 'fm-ankle-boot' };

describe('parseUrl', () => {
  it('parseUrl of an empty query gives the defaults and no problems', () => {
    expect(parseUrl('', ctx)).toEqual({
      state: { model: null, plan: 'none', sample: 'fm-ankle-boot', layer: null, backend: 'auto', lesson: null, step: 1, present: false },
      problems: [],
    });
  });

  it('parseUrl reads every field and canonicalises the plan', () => {
    const { state, problems } = parseUrl('?plan=evit:keep=0.5,fuse=1,layers=1/3&sample=chelsea&layer=4&backend=wasm', ctx);
    expect(problems).toEqual([]);
    expect(state).toEqual({ ...defaultUrlState(ctx), plan: 'evit:keep=0.5,layers=1/3', sample: 'chelsea', layer: 4, backend: 'wasm' });
  });

  it("parseUrl keeps a hand-typed '+' between plan segments", () => {
    const { state, problems } = parseUrl('?plan=evit:layers=1+tome:r=2,layers=2-5', ctx);
    expect(problems).toEqual([]);
    expect(state.plan).toBe('evit:layers=1+tome:r=2,layers=2-5');
  });

  it('parseUrl ignores a hostile plan, reports it, and falls back to the unreduced model', () => {
    const { state, problems } = parseUrl(`?plan=${encodeURIComponent('<script>alert(1)</script>')}`, ctx);
    expect(state.plan).toBe('none');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Ignored plan "<script>alert\(1\)<\/script>" from the link: unknown method/);
    expect(problems[0]).toMatch(/unreduced model runs instead/);
  });

  it('parseUrl rejects a plan naming a layer the model lacks', () => {
    const { state, problems } = parseUrl('?plan=evit:layers=9', ctx);
    expect(state.plan).toBe('none');
    expect(problems[0]).toMatch(/layer 9 does not exist in a 6-block model/);
  });

  it('parseUrl rejects out-of-range, unknown and malformed values one by one', () => {
    const { state, problems } = parseUrl('?sample=../../etc/passwd&layer=6&backend=gpu&layer=2&x=1&%E0%A4%A=1', ctx);
    expect(state).toEqual(defaultUrlState(ctx));
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/sample image "..\/..\/etc\/passwd"/);
    expect(problems.join('\n')).toMatch(/selected layer "6" .* blocks 0..5/);
    expect(problems.join('\n')).toMatch(/backend "gpu"/);
    expect(problems.join('\n')).toMatch(/'layer' more than once/);
    expect(problems.join('\n')).toMatch(/badly escaped/);
  });

  it('parseUrl refuses very long values without parsing them', () => {
    const { state, problems } = parseUrl(`?plan=${'tome'.repeat(200)}`, ctx);
    expect(state.plan).toBe('none');
    expect(problems[0]).toMatch(/800 characters long/);
  });

  it('parseUrl quotes control characters and non-ASCII as ? in messages', () => {
    const { problems } = parseUrl(`?backend=${encodeURIComponent('wé\n')}`, ctx);
    expect(problems[0]).toContain('"w??"');
  });

  it('parseUrl warns about a newer format version but still reads the fields', () => {
    const { state, problems } = parseUrl('?v=2&backend=cpu', ctx);
    expect(state.backend).toBe('cpu');
    expect(problems[0]).toMatch(/version "2"/);
  });
});

describe('formatUrl', () => {
  it('formatUrl of the defaults is empty', () => {
    expect(formatUrl(defaultUrlState(ctx), ctx)).toBe('');
  });

  it('formatUrl writes only non-defaults, keeps the plan readable and escapes +', () => {
    const text = formatUrl({ ...defaultUrlState(ctx), plan: 'evit:layers=1+tome:r=2,layers=2-5', sample: 'chelsea', layer: 0 }, ctx);
    expect(text).toBe('?v=1&plan=evit:layers=1%2Btome:r=2,layers=2-5&sample=chelsea&layer=0');
  });

  it('formatUrl and parseUrl round-trip every field', () => {
    const state = {
      model: 'timm/deit_tiny_patch16_224.fb_in1k@v1.0',
      plan: 'tome:r=4,prop=0',
      sample: 'chelsea',
      layer: 3,
      backend: 'webgpu' as const,
      lesson: 'merging',
      step: 3,
      present: true,
    };
    expect(parseUrl(formatUrl(state, ctx), ctx)).toEqual({ state, problems: [] });
  });

  it('parseUrl reads a hub model id with or without a revision, and refuses URLs, paths and markup', () => {
    expect(parseUrl('?model=timm/deit_tiny_patch16_224.fb_in1k', ctx).state.model).toBe('timm/deit_tiny_patch16_224.fb_in1k');
    expect(parseUrl('?model=WinKawaks/vit-tiny-patch16-224@3a1b2c', ctx).state.model).toBe('WinKawaks/vit-tiny-patch16-224@3a1b2c');
    expect(parseUrl('?model=timm/deit_small_patch16_224.fb_in1k@main', ctx).state.model).toBe('timm/deit_small_patch16_224.fb_in1k');
    for (const hostile of ['https://evil.example/x', '../../etc/passwd', 'a/../b', '<img src=x>/y', 'onlyname', 'a/b/c']) {
      const { state, problems } = parseUrl(`?model=${encodeURIComponent(hostile)}`, ctx);
      expect(state.model, hostile).toBeNull();
      expect(problems[0]).toMatch(/^Ignored model .* not a hub model id .*The bundled model runs instead\.$/);
    }
  });

  it('parseUrl sends a compare-page lesson to the compare page and refuses unknown lessons', () => {
    expect(parseUrl('?lesson=pareto&step=2', ctx).problems[0]).toMatch(/^Ignored lesson .*a lesson of the compare page: open compare\.html\?lesson=pareto/);
    expect(parseUrl('?lesson=nope', ctx).problems[0]).toMatch(/^Ignored lesson .*not a lesson; the lessons are /);
    expect(parseUrl('?lesson=pareto', ctx).state.lesson).toBeNull();
  });

  it('formatUrl writes the hub model first and leaves it out for the bundled model', () => {
    const state = { ...defaultUrlState(ctx), model: 'timm/deit_tiny_patch16_224.fb_in1k', plan: 'tome:r=4' };
    expect(formatUrl(state, ctx)).toBe('?v=1&model=timm/deit_tiny_patch16_224.fb_in1k&plan=tome:r=4');
    expect(formatUrl({ ...state, model: null }, ctx)).toBe('?v=1&plan=tome:r=4');
  });
});
