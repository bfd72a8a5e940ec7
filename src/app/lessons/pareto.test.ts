/** The Pareto lesson's points picked by rule from a hand-written sweep, and the numbers quoted for them. */
import { describe, expect, it } from 'vitest';
import type { SweepResult, SweepRow } from '../compare/protocol';
import { PARETO_LESSON, paretoLive, pickPoints } from './pareto';

const row = (method: SweepRow['method'], plan: string, gflops: number, accuracy: number, overheadGflops = 0): SweepRow => ({
  method,
  plan,
  gflops,
  accuracy,
  agreement: 1,
  kl: 0,
  param: null,
  value: null,
  overheadGflops,
  cached: false,
  computedAt: '',
});

const result = {
  kind: 'sweep',
  methods: ['tome', 'topk', 'evit'],
  model: { name: 'm', hash: 'h', untrained: false },
  data: { kind: 'bundled', name: 'b', n: 40, labelled: true, key: 'k' },
  backend: 'cpu',
  batch: 8,
  rows: [
    row('none', 'none', 10, 0.9),
    row('tome', 'tome:r=2', 8, 0.9, 0.01),
    row('tome', 'tome:r=4', 6.2, 0.88, 0.02),
    row('topk', 'topk', 7, 0.8),
    row('topk', 'topk:keep=0.5', 5, 0.6),
    row('evit', 'evit', 7.1, 0.81),
  ],
  evaluated: 5,
  fromCache: 0,
  elapsedMs: 1,
} as SweepResult;

const step = (title: string) => PARETO_LESSON.steps.find((s) => s.title === title)!;

describe('the Pareto lesson', () => {
  it('picks ToMe nearest 60 % of the unreduced GFLOPs, then the top-k point nearest that one', () => {
    const picked = pickPoints(step('Merging against pruning, at equal cost'), result);
    expect(picked.a.plan).toBe('tome:r=4'); // |6.2 − 6| beats |8 − 6|
    expect(picked.b.plan).toBe('topk'); // |7 − 6.2| beats |5 − 6.2|
  });

  it('quotes the picked rows and the front, and outlines them', () => {
    const live = paretoLive(step('Merging against pruning, at equal cost'), result, 'accuracy');
    expect(live.values['a-accuracy']).toBe('88.0%');
    expect(live.values['b-gflops']).toBe('7.000');
    expect(live.values['a-percent']).toBe('62.0%');
    expect(live.highlighted).toEqual(['tome:r=4', 'topk']);
    const front = paretoLive(step('The Pareto front'), result, 'accuracy');
    // none (10, 0.9) is beaten by tome:r=2 (8, 0.9); the front: topk:keep=0.5, tome:r=4, tome:r=2
    expect(front.values['front-count']).toBe('3');
    expect(front.highlighted.sort()).toEqual(['tome:r=2', 'tome:r=4', 'topk:keep=0.5']);
  });

  it('leaves out a point whose method was not swept', () => {
    const noTopk = { ...result, rows: result.rows.filter((r) => r.method !== 'topk') };
    const picked = pickPoints(step('Merging against pruning, at equal cost'), noTopk);
    expect(Object.keys(picked)).toEqual(['a']);
  });
});
