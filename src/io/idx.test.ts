import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenScopeError, type ErrorCode } from '../errors';
import { FASHION_MNIST_DIR } from './datasets';
import { gunzip } from './gunzip';
import { isGzip, parseIdxImages, parseIdxLabels } from './idx';
import { gunzipNode, loadFashionMnist } from './node-files';

/** An IDX file from raw parts: 00 00, dtype byte, ndims byte, big-endian u32 dims, payload. */
function idxBytes(dims: number[], payload: ArrayLike<number>, dtype = 0x08, ndims = dims.length): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  out.set([0, 0, dtype, ndims]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

function counting(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 251);
}

function expectError(fn: () => unknown, code: ErrorCode, fragment: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(TokenScopeError);
  expect((caught as TokenScopeError).code).toBe(code);
  expect((caught as TokenScopeError).message).toContain(fragment);
}

describe('parseIdx', () => {
  it('parseIdxImages reads magic 0x00000803 with dims [n, rows, cols] and the pixels in order', () => {
    const bytes = idxBytes([2, 3, 4], counting(24));
    expect([...bytes.subarray(0, 8)]).toEqual([0, 0, 8, 3, 0, 0, 0, 2]); // magic 0x00000803, n = 2
    const images = parseIdxImages(bytes);
    expect(images.shape).toEqual([2, 3, 4]);
    expect(images.data).toEqual(counting(24));
  });

  it('parseIdxLabels reads magic 0x00000801 with dims [n]', () => {
    const labels = parseIdxLabels(idxBytes([5], [9, 0, 3, 3, 1]));
    expect(labels.shape).toEqual([5]);
    expect([...labels.data]).toEqual([9, 0, 3, 3, 1]);
  });

  it('parseIdxLabels returns a copy that does not alias the input', () => {
    const bytes = idxBytes([2], [1, 2]);
    const labels = parseIdxLabels(bytes);
    bytes[8] = 7;
    expect([...labels.data]).toEqual([1, 2]);
  });

  it('parseIdxImages accepts an empty set', () => {
    expect(parseIdxImages(idxBytes([0, 28, 28], [])).data.length).toBe(0);
  });

  it('parseIdxImages rejects a wrong magic number, and says when the data is still gzipped', () => {
    const bytes = idxBytes([1, 1, 1], [0]);
    bytes[1] = 1;
    expectError(() => parseIdxImages(bytes, 'x.idx'), 'data-malformed', 'x.idx: magic number starts 0x00 0x01, expected 0x00 0x00 (0x00000803)');
    expectError(() => parseIdxImages(gzipSync(idxBytes([1, 1, 1], [0]))), 'data-malformed', 'still gzipped?');
  });

  it('parseIdxImages rejects a dtype other than u8 by name', () => {
    expectError(() => parseIdxImages(idxBytes([1, 1, 1], [0, 0, 0, 0], 0x0d)), 'data-malformed', 'dtype byte 0x0d (f32) is not supported; expected 0x08 (u8)');
    expectError(() => parseIdxImages(idxBytes([1, 1, 1], [0], 0x42)), 'data-malformed', 'dtype byte 0x42 (unknown)');
  });

  it('parseIdxImages rejects a labels file (wrong ndims) and parseIdxLabels an images file', () => {
    expectError(() => parseIdxImages(idxBytes([3], [0, 1, 2])), 'data-malformed', 'has 1 dimensions (magic 0x00000801), expected 3 (0x00000803)');
    expectError(() => parseIdxLabels(idxBytes([1, 1, 1], [0])), 'data-malformed', 'expected 1 (0x00000801)');
  });

  it('parseIdxImages rejects a file truncated inside the magic or the dims', () => {
    expectError(() => parseIdxImages(new Uint8Array([0, 0, 8])), 'data-malformed', '3 bytes is too short for the 4-byte magic number');
    expectError(() => parseIdxImages(idxBytes([1, 1, 1], [0]).subarray(0, 10)), 'data-malformed', '10 bytes is too short for the 16-byte header');
  });

  it('parseIdxImages rejects pixel data shorter or longer than the dims say', () => {
    const full = idxBytes([2, 28, 28], counting(2 * 784));
    expectError(
      () => parseIdxImages(full.subarray(0, full.length - 1)),
      'data-malformed',
      'dims [2, 28, 28] need 1584 bytes but the file has 1583; it is truncated',
    );
    expectError(
      () => parseIdxImages(idxBytes([1, 28, 28], counting(2 * 784))),
      'data-malformed',
      'dims [1, 28, 28] need 800 bytes but the file has 1584; it has trailing bytes',
    );
  });

  it('parseIdxImages rejects huge dims without allocating', () => {
    expectError(() => parseIdxImages(idxBytes([0xffffffff, 0xffffffff, 0xffffffff], [1, 2, 3])), 'data-malformed', 'it is truncated');
  });
});

describe('gunzip', () => {
  const idx = idxBytes([3], [4, 5, 6]);

  it('gunzip decompresses with DecompressionStream and passes non-gzip bytes through', async () => {
    const packed = gzipSync(idx);
    expect(isGzip(packed)).toBe(true);
    expect(await gunzip(packed)).toEqual(idx);
    expect(await gunzip(idx)).toBe(idx);
  });

  it('gunzip rejects corrupt data and output over the cap with data-malformed', async () => {
    const packed = gzipSync(idx);
    const corrupt = packed.slice(0, packed.length - 6);
    await expect(gunzip(corrupt, 'c.gz')).rejects.toMatchObject({ code: 'data-malformed', message: expect.stringContaining('c.gz: gzip data is corrupt') });
    await expect(gunzip(gzipSync(new Uint8Array(1 << 20)), 'z.gz', 1000)).rejects.toMatchObject({
      code: 'data-malformed',
      message: expect.stringContaining('decompresses to more than 1000 bytes'),
    });
  });

  it('gunzipNode decompresses with zlib, passes non-gzip through and rejects corrupt data or oversize output', () => {
    expect(gunzipNode(gzipSync(idx))).toEqual(idx);
    expect(gunzipNode(idx)).toBe(idx);
    const packed = gzipSync(idx);
    expectError(() => gunzipNode(packed.slice(0, 12), 'c.gz'), 'data-malformed', 'c.gz: gzip data is corrupt');
    expectError(() => gunzipNode(gzipSync(new Uint8Array(1 << 20)), 'z.gz', 1000), 'data-malformed', 'z.gz');
  });
});

describe('loadFashionMnist on files the test writes', () => {
  const root = mkdtempSync(join(tmpdir(), 'tokenscope-idx-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Writes the test split into a fresh folder `name`: `.gz` files when gzip is set, plain ones otherwise. */
  function writeSplit(name: string, opts: { n?: number; labels?: number[]; rows?: number; gzip?: boolean; skip?: string } = {}): string {
    const dir = join(root, name);
    mkdirSync(dir);
    const { n = 3, rows = 28, gzip = false } = opts;
    const labels = opts.labels ?? Array.from({ length: n }, (_, i) => i % 10);
    const files: Record<string, Uint8Array> = {
      't10k-images-idx3-ubyte': idxBytes([n, rows, 28], counting(n * rows * 28)),
      't10k-labels-idx1-ubyte': idxBytes([labels.length], labels),
    };
    for (const [file, bytes] of Object.entries(files)) {
      if (file === opts.skip) continue;
      writeFileSync(join(dir, gzip ? `${file}.gz` : file), gzip ? gzipSync(bytes) : bytes);
    }
    return dir;
  }

  it('loadFashionMnist reads uncompressed files', () => {
    const set = loadFashionMnist('test', writeSplit('plain'));
    expect(set).toMatchObject({ count: 3, rows: 28, cols: 28 });
    expect(set.images).toEqual(counting(3 * 784));
    expect([...set.labels]).toEqual([0, 1, 2]);
    expect(set.classNames[9]).toBe('Ankle boot');
  });

  it('loadFashionMnist reads gzipped files', () => {
    const set = loadFashionMnist('test', writeSplit('gz', { gzip: true, n: 12 }));
    expect(set.count).toBe(12);
    expect([...set.labels]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  });

  it('loadFashionMnist names the missing file and the apt-get fix', () => {
    const dir = writeSplit('nolabels', { skip: 't10k-labels-idx1-ubyte' });
    expectError(() => loadFashionMnist('test', dir), 'data-missing', `${join(dir, 't10k-labels-idx1-ubyte.gz')} is missing`);
    expectError(() => loadFashionMnist('test', dir), 'data-missing', 'apt-get install dataset-fashion-mnist');
    expectError(() => loadFashionMnist('train', join(root, 'no-such-dir')), 'data-missing', 'train-images-idx3-ubyte.gz is missing');
  });

  it('loadFashionMnist rejects images that are not 28×28, label counts that differ, and labels past 9', () => {
    expectError(() => loadFashionMnist('test', writeSplit('rows', { rows: 27 })), 'data-malformed', 'images are 27×28, expected 28×28');
    expectError(() => loadFashionMnist('test', writeSplit('count', { labels: [1, 2] })), 'data-malformed', '3 images but 2 labels');
    expectError(() => loadFashionMnist('test', writeSplit('label', { labels: [1, 10, 2] })), 'data-malformed', 'label 10 at index 1 is outside 0..9');
  });

  it('loadFashionMnist reports a corrupt file with data-malformed and its path', () => {
    const dir = writeSplit('corrupt', { gzip: true });
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idxBytes([3], [0, 1, 2])));
    expectError(() => loadFashionMnist('test', dir), 'data-malformed', join(dir, 't10k-images-idx3-ubyte.gz'));
  });
});

const present = existsSync(FASHION_MNIST_DIR);
describe(`loadFashionMnist on the installed dataset${present ? '' : ` (skipped: ${FASHION_MNIST_DIR} is absent; apt-get install dataset-fashion-mnist)`}`, () => {
  it.skipIf(!present)('loadFashionMnist("test") has 10,000 28×28 images and 1,000 labels of each class 0..9', () => {
    const set = loadFashionMnist('test');
    expect(set).toMatchObject({ count: 10_000, rows: 28, cols: 28 });
    expect(set.images.length).toBe(10_000 * 28 * 28);
    const perClass = new Array<number>(10).fill(0);
    for (const label of set.labels) perClass[label]++;
    expect(perClass).toEqual(new Array<number>(10).fill(1000));
  });
});
