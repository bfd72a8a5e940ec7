/**
 * The lessons as data: lengths, that every number is a live slot (no digit typed into a text), that
 * every method lesson asks for a prediction, and that each step points at something.
 */
import { describe, expect, it } from 'vitest';
import { fitPlan } from '../state/plan-fit';
import { splitSlots } from './live';
import { LESSONS } from './lessons';
import { COMPARE_LESSONS } from './pareto';

const textOnly = (text: string) =>
  splitSlots(text)
    .map((p) => ('text' in p ? p.text : ''))
    .join('')
    .replace(/top-1/gi, 'top-one'); // a name, not a number

describe('lessons', () => {
  it('every lesson has 5 to 10 steps and a unique id', () => {
    const all = [...LESSONS, ...COMPARE_LESSONS];
    expect(new Set(all.map((l) => l.id)).size).toBe(all.length);
    for (const l of all) expect(l.steps.length, l.id).toBeGreaterThanOrEqual(5);
    for (const l of all) expect(l.steps.length, l.id).toBeLessThanOrEqual(10);
  });

  it('no step types a number: every digit of a text is in a live slot', () => {
    for (const l of [...LESSONS, ...COMPARE_LESSONS]) for (const [i, s] of l.steps.entries()) expect(textOnly(s.text), `${l.id} step ${i + 1}`).not.toMatch(/\d/);
  });

  it('every playground step highlights something or asks for a prediction, and every method lesson has a prediction', () => {
    for (const l of LESSONS) {
      for (const [i, s] of l.steps.entries()) expect(Boolean(s.highlight || s.predict), `${l.id} step ${i + 1}`).toBe(true);
      if (!['tokens', 'cost', 'mixing'].includes(l.id))
        expect(
          l.steps.some((s) => s.predict),
          l.id,
        ).toBe(true);
    }
  });

  it('every step’s plan is valid as written on the bundled model (6 blocks) and on DeiT (12 blocks)', () => {
    for (const depth of [6, 12])
      for (const l of LESSONS)
        for (const [i, s] of l.steps.entries()) {
          const shape = { depth, channels: depth === 6 ? 1 : 3, tokens: depth === 6 ? 50 : 197 };
          expect(fitPlan(s.plan(shape), depth).problem, `${l.id} step ${i + 1} at depth ${depth}`).toBeNull();
          expect(s.layer(shape), `${l.id} step ${i + 1}`).toBeLessThan(depth);
        }
  });

  it('compare steps name earlier points only', () => {
    for (const l of COMPARE_LESSONS)
      for (const s of l.steps) {
        const seen: string[] = [];
        for (const [key, rule] of Object.entries(s.points)) {
          if (rule.kind === 'match') expect(seen).toContain(rule.to);
          seen.push(key);
        }
      }
  });
});
