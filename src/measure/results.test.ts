import { describe, expect, it } from 'vitest';
import type { ImageRecord } from './image-records';
import { formatLine, mergeShards, parseResults, parseShard, type ResultsHeader, shardGroups, summarise } from './results';

const header = (k = 0, n = 1, files = 4): ResultsHeader => ({
  tokenscope: 'per-image results',
  version: 1,
  model: { sha256: 'm', source: 'x' },
  data: { root: '/d', listing_sha256: 'l', files: 4, labels: 'names' },
  plans: ['none', 'tome:r=2'],
  batch: 2,
  limit: null,
  shard: { k, n, files },
});

const rec = (file: string, label: number, base: number, plan: number, gBase: number, gPlan: number, kl: number): ImageRecord => ({
  file,
  label,
  plans: {
    none: { top5: [base], prob5: [1], tokens: [5, 5], gflops: gBase, kl: 0 },
    'tome:r=2': { top5: [plan], prob5: [1], tokens: [5, 3], gflops: gPlan, kl },
  },
});

describe('results', () => {
  it('parseShard reads k/n and refuses k ≥ n, n = 0 and other text', () => {
    expect(parseShard('2/3')).toEqual({ k: 2, n: 3 });
    for (const bad of ['3/2', '0/0', '3/3', '-1/2', '1', 'a/b']) expect(() => parseShard(bad), bad).toThrow(/0 ≤ k < n/);
  });

  it('shardGroups splits the groups into n runs that cover each group exactly once', () => {
    for (const [groups, n] of [
      [10, 3],
      [2, 5],
      [7, 7],
      [0, 2],
    ]) {
      const covered = Array.from({ length: n }, (_, k) => shardGroups(groups, { k, n })).flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
      expect(covered).toEqual(Array.from({ length: groups }, (_, i) => i));
    }
  });

  it('parseResults drops a torn last line and reports where the good part ends', () => {
    const good = formatLine(header()) + formatLine(rec('a.png', 0, 0, 1, 1, 0.5, 0.1));
    const parsed = parseResults(`${good}{"file":"b.p`, 'r.jsonl');
    expect(parsed.torn).toBe(true);
    expect(parsed.records.map((r) => r.file)).toEqual(['a.png']);
    expect(parsed.goodBytes).toBe(Buffer.byteLength(good));
    expect(parseResults(good, 'r.jsonl').torn).toBe(false);
    expect(() => parseResults('{"x":1}\n', 'r.jsonl')).toThrow(/does not start with a TokenScope results header/);
  });

  it('summarise counts accuracy, agreement, KL and GFLOPs by hand, and finds the Pareto front', () => {
    const records = [
      rec('b.png', 1, 1, 1, 2, 1, 0.2), // both right
      rec('a.png', 0, 0, 2, 2, 1, 0.4), // plan wrong, disagrees
      { file: 'c.png', label: 1, error: '[image-unreadable] c.png: the file is empty' },
    ];
    const s = summarise(header(), records, { budget: '60%' });
    expect(s.n).toBe(2);
    expect(s.failed).toEqual([{ file: 'c.png', error: '[image-unreadable] c.png: the file is empty' }]);
    expect(s.plans[0]).toMatchObject({ plan: 'none', accuracy: 1, agreement: 1, kl: 0, gflops: 2, tokens: [5, 5] });
    expect(s.plans[1]).toMatchObject({ plan: 'tome:r=2', method: 'tome', accuracy: 0.5, agreement: 0.5, gflops: 1, tokens: [5, 3] });
    expect(s.plans[1].kl).toBeCloseTo(0.3, 15);
    expect(s.pareto).toEqual(['tome:r=2', 'none']); // cheaper but worse, dearer but better: both on the front
    expect(s.budget).toEqual({ gflops: 1.2, plans: ['tome:r=2'] });
  });

  it('mergeShards refuses an image found in two shards, naming it', () => {
    const a = { source: 'a.jsonl', results: { header: header(0, 2, 1), records: [rec('x.png', 0, 0, 0, 1, 1, 0)], goodBytes: 0, torn: false } };
    const b = { source: 'b.jsonl', results: { header: header(1, 2, 1), records: [rec('x.png', 0, 0, 0, 1, 1, 0)], goodBytes: 0, torn: false } };
    expect(() => mergeShards([a, b])).toThrow(/x\.png is in both a\.jsonl and b\.jsonl/);
  });
});
