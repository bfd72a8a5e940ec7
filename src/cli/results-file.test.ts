import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatLine, parseResults } from '../measure/results';
import { readResultsFile } from './results-file';

const root = mkdtempSync(join(tmpdir(), 'tokenscope-results-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const header = {
  tokenscope: 'per-image results',
  version: 1,
  model: { sha256: 'm', source: 'x' },
  data: { root: '/d', listing_sha256: 'l', files: 3, labels: 'names' },
  plans: ['none'],
  batch: 2,
  limit: null,
  shard: { k: 0, n: 1, files: 3 },
};
const record = (file: string) => ({ file, label: 0, plans: { none: { top5: [0], prob5: [1], tokens: [5], gflops: 1, kl: 0 } } });

describe('readResultsFile', () => {
  it('readResultsFile reads in chunks that split lines and multi-byte names, as the whole text would parse', () => {
    const text = formatLine(header) + ['café/é1.jpg', 'naïve/二.png', 'z/ok.webp'].map((f) => formatLine(record(f))).join('') + '{"file":"torn';
    const path = join(root, 'r.jsonl');
    writeFileSync(path, text);
    const whole = parseResults(text, path);
    for (const chunk of [1, 3, 7, 64, 1 << 20]) expect(readResultsFile(path, chunk), `chunk ${chunk}`).toEqual(whole);
    expect(whole.records.map((r) => r.file)).toEqual(['café/é1.jpg', 'naïve/二.png', 'z/ok.webp']);
    expect(whole.torn).toBe(true);
    expect(whole.goodBytes).toBe(Buffer.byteLength(text) - Buffer.byteLength('{"file":"torn'));
  });

  it('readResultsFile refuses a damaged line in the middle, naming it', () => {
    const path = join(root, 'bad.jsonl');
    writeFileSync(path, formatLine(header) + 'not json\n' + formatLine(record('a.png')));
    expect(() => readResultsFile(path)).toThrow(/line 2 is not a result record/);
  });
});
