import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32';
import { encodeEvalSet, type EvalSet, parseEvalSet } from './eval-set';
import { loadFashionMnist } from './node-files';

function smallSet(): EvalSet {
  return {
    count: 3,
    size: 2,
    channels: 1,
    classes: 4,
    sourceIndex: Uint32Array.from([7, 70000, 2 ** 32 - 1]),
    labels: Uint8Array.from([3, 0, 1]),
    images: Uint8Array.from([0, 1, 2, 3, 250, 251, 252, 253, 9, 8, 7, 6]),
  };
}

/** Re-seals a modified file with a correct checksum, so a later check is the one that fires. */
function reseal(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

const expectMalformed = (bytes: Uint8Array, pattern: RegExp) => {
  expect(() => parseEvalSet(bytes, 'x.bin')).toThrowError(expect.objectContaining({ code: 'data-malformed', message: expect.stringMatching(pattern) }));
};

describe('eval set format', () => {
  it('encodeEvalSet writes the documented byte layout', () => {
    const bytes = encodeEvalSet(smallSet());
    expect(bytes.length).toBe(16 + 4 * 3 + 3 + 12 + 4);
    expect(Array.from(bytes.subarray(0, 16))).toEqual([0x54, 0x53, 0x45, 0x56, 1, 1, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
    expect(Array.from(bytes.subarray(16, 28))).toEqual([7, 0, 0, 0, 0x70, 0x11, 0x01, 0, 255, 255, 255, 255]);
    expect(Array.from(bytes.subarray(28, 31))).toEqual([3, 0, 1]);
    expect(Array.from(bytes.subarray(31, 43))).toEqual([0, 1, 2, 3, 250, 251, 252, 253, 9, 8, 7, 6]);
  });

  it('parseEvalSet reads back exactly what encodeEvalSet wrote', () => {
    expect(parseEvalSet(encodeEvalSet(smallSet()))).toEqual(smallSet());
  });

  it('parseEvalSet rejects a wrong magic, an unknown version, a wrong length, a bad checksum and a label out of range', () => {
    const good = () => encodeEvalSet(smallSet());
    expectMalformed(new Uint8Array(10), /too short/);
    const magic = good();
    magic[0] = 0x50;
    expectMalformed(reseal(magic), /magic "TSEV".*not a TokenScope eval set/);
    const version = good();
    version[4] = 2;
    expectMalformed(reseal(version), /version 2 is not supported/);
    expectMalformed(reseal(good().slice(0, -5)), /truncated or padded/);
    const flipped = good();
    flipped[35] ^= 1;
    expectMalformed(flipped, /checksum mismatch.*corrupt/);
    const label = good();
    label[29] = 4;
    expectMalformed(reseal(label), /label 4 of image 1 is not below the class count 4/);
  });

  it('crc32 agrees with zlib on random data', async () => {
    const zlib = await import('node:zlib');
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) % 251);
    expect(crc32(data)).toBe(zlib.crc32(data));
    expect(crc32(data.subarray(400), crc32(data.subarray(0, 400)))).toBe(zlib.crc32(data));
  });
});

describe('public/data/fmnist-test-1000.bin', () => {
  const path = 'public/data/fmnist-test-1000.bin';
  it('holds 100 images per class, identical to the Fashion-MNIST test images it names', () => {
    const set = parseEvalSet(new Uint8Array(readFileSync(path)), path);
    expect(set).toMatchObject({ count: 1000, size: 28, channels: 1, classes: 10 });
    const perClass = new Array(10).fill(0);
    set.labels.forEach((l) => perClass[l]++);
    expect(perClass).toEqual(new Array(10).fill(100));
    const test = loadFashionMnist('test');
    for (const i of [0, 1, 499, 999]) {
      const src = set.sourceIndex[i];
      expect(set.labels[i]).toBe(test.labels[src]);
      expect(set.images.subarray(i * 784, (i + 1) * 784)).toEqual(test.images.subarray(src * 784, (src + 1) * 784));
    }
  });
});
