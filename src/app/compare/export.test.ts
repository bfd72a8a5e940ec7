import { describe, expect, it } from 'vitest';
import { SWEEP_CSV_COLUMNS, sweepCsv, sweepRecord } from './export';
import type { SweepResult, SweepRow } from './protocol';

const row = (over: Partial<SweepRow>): SweepRow => ({
  method: 'none',
  plan: 'none',
  gflops: 0.012009215999999993,
  accuracy: 0.125,
  agreement: 1,
  kl: 0,
  param: null,
  value: null,
  overheadGflops: 0,
  cached: false,
  computedAt: '2025-01-01T00:00:00.000Z',
  ...over,
});

const result = (rows: SweepRow[], labelled = true): SweepResult => ({
  kind: 'sweep',
  methods: ['tome', 'evit'],
  model: { name: 'fmnist-vit, "bundled"', hash: 'ab'.repeat(32), untrained: false },
  data: labelled
    ? { kind: 'bundled', name: 'data/fmnist-test-1000.bin', n: 40, labelled: true, key: 'k' }
    : { kind: 'images', name: 'my photos', n: 3, labelled: false, key: 'k2' },
  backend: 'wasm',
  batch: 25,
  rows,
  evaluated: rows.length,
  fromCache: 0,
  elapsedMs: 12,
});

const parseCsv = (text: string) =>
  text
    .trimEnd()
    .split('\r\n')
    .map((l) =>
      l
        .match(/("([^"]|"")*"|[^,]*)(,|$)/g)!
        .slice(0, -1)
        .map((c) =>
          c
            .replace(/,$/, '')
            .replace(/^"(.*)"$/, '$1')
            .replace(/""/g, '"'),
        ),
    );

describe('sweepCsv', () => {
  const rows = [
    row({}),
    row({
      method: 'tome',
      plan: 'tome:r=2',
      param: 'r',
      value: 2,
      gflops: 0.010446848000000005,
      accuracy: 0.1,
      agreement: 0.95,
      kl: 2.5581728095858126e-7,
      overheadGflops: 0.0000012,
    }),
  ];

  it('sweepCsv writes one row per point with numbers that read back exactly', () => {
    const table = parseCsv(sweepCsv(result(rows)));
    expect(table[0]).toEqual([...SWEEP_CSV_COLUMNS]);
    expect(table).toHaveLength(3);
    const col = (name: string) => SWEEP_CSV_COLUMNS.indexOf(name as (typeof SWEEP_CSV_COLUMNS)[number]);
    expect(Number(table[2][col('gflops')])).toBe(rows[1].gflops);
    expect(Number(table[2][col('kl')])).toBe(rows[1].kl);
    expect(Number(table[2][col('accuracy')])).toBe(0.1);
    expect(Number(table[2][col('percent_of_unreduced')])).toBeCloseTo((100 * rows[1].gflops) / rows[0].gflops, 12);
    expect(table[1][col('param')]).toBe('');
    expect(table[2][col('source')]).toBe('live on the bundled set (40 images)');
    expect(table[2][col('model')]).toBe('fmnist-vit, "bundled"');
    expect(table[2][col('trained')]).toBe('yes');
  });

  it('sweepCsv quotes cells with commas and quotes (RFC 4180)', () => {
    expect(sweepCsv(result(rows))).toContain('"fmnist-vit, ""bundled"""');
  });

  it('sweepCsv leaves accuracy empty for unlabelled images and says where the numbers come from', () => {
    const csv = parseCsv(sweepCsv(result([row({ accuracy: null })], false)));
    expect(csv[1][SWEEP_CSV_COLUMNS.indexOf('accuracy')]).toBe('');
    expect(csv[1][SWEEP_CSV_COLUMNS.indexOf('source')]).toBe('live on your images (3 images)');
  });
});

describe('sweepRecord', () => {
  it('sweepRecord keeps the CLI --json fields on every point and names the CLI twin', () => {
    const rec = sweepRecord(result([row({}), row({ method: 'evit', plan: 'evit:keep=0.5', param: 'keep', value: 0.5 })]));
    expect(rec.format).toBe('tokenscope-sweep');
    for (const key of ['method', 'plan', 'gflops', 'accuracy', 'agreement', 'kl', 'param', 'value']) expect(rec.points[1]).toHaveProperty(key);
    expect(rec.cli).toBe(
      'npx tokenscope sweep --model models/fmnist-vit --eval-set public/data/fmnist-test-1000.bin --limit 40 --batch 25 --methods tome,evit --json',
    );
    expect(rec.data.source).toBe('live on the bundled set (40 images)');
    expect(JSON.parse(JSON.stringify(rec)).points[1].value).toBe(0.5);
  });

  it('sweepRecord has no CLI command for the user’s own images', () => {
    expect(sweepRecord(result([row({ accuracy: null })], false)).cli).toBeNull();
  });
});
