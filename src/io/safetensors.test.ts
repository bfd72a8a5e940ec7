import { describe, expect, it } from 'vitest';
import { TokenScopeError } from '../errors';
import { parseSafetensors, parseSafetensorsHeader, writeSafetensors } from './safetensors';

/** A file from raw parts, independent of writeSafetensors: u64 LE length, header text, data bytes. */
function rawFile(header: string | Uint8Array, data: ArrayLike<number> = [], lengthOverride?: bigint): Uint8Array {
  const headerBytes = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

function entry(dtype: string, shape: unknown[], begin: number, end: number): string {
  return JSON.stringify({ dtype, shape, data_offsets: [begin, end] });
}

function expectMalformed(bytes: Uint8Array, fragment: string, opts?: Parameters<typeof parseSafetensors>[1]): void {
  let caught: unknown;
  try {
    parseSafetensors(bytes, opts);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(TokenScopeError);
  const err = caught as TokenScopeError;
  expect(err.code).toBe('safetensors-malformed');
  expect(err.message).toContain(fragment);
}

function u16s(bytes: Uint8Array, start: number, count: number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, i) => view.getUint16(start + 2 * i, true));
}

function dataStart(bytes: Uint8Array): number {
  return 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
}

describe('parseSafetensors on hand-built files', () => {
  // Data area, 16 bytes: a F16 [2] at 0, b F32 [] (a scalar) at 4, c BF16 [2, 1] at 8, d F32 [1] at 12,
  // e F16 [0, 3] (empty) at 16.
  const header =
    `{"__metadata__":{"format":"pt","note":"hand"},` +
    `"a":${entry('F16', [2], 0, 4)},"b":${entry('F32', [], 4, 8)},"c":${entry('BF16', [2, 1], 8, 12)},` +
    `"d":${entry('F32', [1], 12, 16)},"e":${entry('F16', [0, 3], 16, 16)}}`;
  const data = [
    0x00,
    0x3c,
    0x01,
    0x00, // a: F16 0x3c00 = 1, 0x0001 = 2^-24
    0x00,
    0x00,
    0x20,
    0xc0, // b: F32 0xc0200000 = -2.5
    0x80,
    0x3f,
    0x20,
    0xc0, // c: BF16 0x3f80 = 1, 0xc020 = -2.5
    0x00,
    0x00,
    0x80,
    0x7f, // d: F32 0x7f800000 = +Infinity
  ];

  it('parseSafetensors decodes every dtype, scalars and empty tensors from raw bytes', () => {
    const bytes = rawFile(`${header} `, data); // one padding space makes the header length odd
    expect(dataStart(bytes) % 4).not.toBe(0); // the F32 tensors b and d sit on unaligned addresses
    const file = parseSafetensors(bytes);
    expect(file.metadata).toEqual({ format: 'pt', note: 'hand' });
    expect([...file.tensors.keys()]).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(file.tensors.get('a')).toEqual({ dtype: 'F16', shape: [2], data: new Float32Array([1, 2 ** -24]) });
    expect(file.tensors.get('b')).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([-2.5]) });
    expect(file.tensors.get('c')).toEqual({ dtype: 'BF16', shape: [2, 1], data: new Float32Array([1, -2.5]) });
    expect(file.tensors.get('d')?.data[0]).toBe(Infinity);
    expect(file.tensors.get('e')).toEqual({ dtype: 'F16', shape: [0, 3], data: new Float32Array(0) });
  });

  it('parseSafetensors reads a file that sits at an odd offset inside a larger buffer', () => {
    const bytes = rawFile(header, data);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 1);
    const file = parseSafetensors(big.subarray(1, 1 + bytes.length));
    expect(file.tensors.get('b')?.data).toEqual(new Float32Array([-2.5]));
    expect(file.tensors.get('a')?.data).toEqual(new Float32Array([1, 2 ** -24]));
  });

  it('parseSafetensors decodes F16 subnormals, the largest finite value, -Infinity and NaN exactly', () => {
    const bytes = rawFile(`{"x":${entry('F16', [5], 0, 10)}}`, [0xff, 0x03, 0xff, 0x7b, 0x00, 0xfc, 0x00, 0x7e, 0x00, 0x80]);
    const x = parseSafetensors(bytes).tensors.get('x')!.data;
    expect(x[0]).toBe(1023 * 2 ** -24);
    expect(x[1]).toBe(65504);
    expect(x[2]).toBe(-Infinity);
    expect(x[3]).toBeNaN();
    expect(Object.is(x[4], -0)).toBe(true);
  });

  it('parseSafetensors accepts a file with no tensors and no metadata', () => {
    const file = parseSafetensors(rawFile('{}'));
    expect(file.tensors.size).toBe(0);
    expect(file.metadata).toEqual({});
  });

  it('parseSafetensorsHeader lists entries with offsets without decoding data', () => {
    const h = parseSafetensorsHeader(rawFile(header, data));
    expect(h.dataStart).toBe(8 + header.length);
    expect(h.entries.map((e) => [e.name, e.dtype, e.begin, e.end])).toEqual([
      ['a', 'F16', 0, 4],
      ['b', 'F32', 4, 8],
      ['c', 'BF16', 8, 12],
      ['d', 'F32', 12, 16],
      ['e', 'F16', 16, 16],
    ]);
  });

  it('parseSafetensors keeps a metadata key named __proto__ as plain data', () => {
    const file = parseSafetensors(rawFile('{"__metadata__":{"__proto__":"x"}}'));
    expect(Object.getOwnPropertyDescriptor(file.metadata, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(file.metadata)).toBe(Object.prototype);
  });
});

describe('writeSafetensors', () => {
  it('writeSafetensors encodes F16 with round-to-nearest-even (hand-computed patterns)', () => {
    const values = [1.0, -2.5, 65504, 1e-8, 1e-7, NaN, Infinity, -Infinity, 65520];
    const bytes = writeSafetensors({ x: { dtype: 'F16', shape: [9], data: new Float32Array(values) } });
    expect(u16s(bytes, dataStart(bytes), 9)).toEqual([0x3c00, 0xc100, 0x7bff, 0x0000, 0x0002, 0x7e00, 0x7c00, 0xfc00, 0x7c00]);
  });

  it('writeSafetensors encodes BF16 with round-to-nearest-even (hand-computed patterns)', () => {
    const values = [1.0, -2.5, 65504, 1e-8, NaN, Infinity, 0.1];
    const bytes = writeSafetensors({ x: { dtype: 'BF16', shape: [7], data: new Float32Array(values) } });
    expect(u16s(bytes, dataStart(bytes), 7)).toEqual([0x3f80, 0xc020, 0x4780, 0x322c, 0x7fc0, 0x7f80, 0x3dcd]);
  });

  it('writeSafetensors stores F32 little-endian bit for bit', () => {
    const bytes = writeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Float32Array([1e-8, -2.5]) } });
    const s = dataStart(bytes);
    expect([...bytes.subarray(s, s + 8)]).toEqual([0x77, 0xcc, 0x2b, 0x32, 0x00, 0x00, 0x20, 0xc0]);
  });

  it('writeSafetensors pads the header with spaces to a multiple of 8 and aligns every tensor', () => {
    const bytes = writeSafetensors({
      h: { dtype: 'F16', shape: [3], data: new Float32Array([1, 2, 3]) },
      f: { dtype: 'F32', shape: [1], data: new Float32Array([4]) },
      b: { dtype: 'BF16', shape: [1], data: new Float32Array([5]) },
    });
    const start = dataStart(bytes);
    expect(start % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, start));
    const json = text.trimEnd();
    expect(json.endsWith('}')).toBe(true);
    expect(text.slice(json.length)).toMatch(/^ {0,7}$/);
    const { entries } = parseSafetensorsHeader(bytes);
    const byName = Object.fromEntries(entries.map((e) => [e.name, e.begin]));
    expect(byName).toEqual({ f: 0, h: 4, b: 10 }); // widest dtype first, then given order
  });

  it('writeSafetensors then parseSafetensors returns F32 data exactly, NaN, -0 and subnormals included', () => {
    const data = new Float32Array([0, -0, 1, -2.5, NaN, Infinity, -Infinity, 1e-40, 3.4e38, Math.PI]);
    const file = parseSafetensors(writeSafetensors({ w: { dtype: 'F32', shape: [2, 5], data } }, { format: 'pt' }));
    const w = file.tensors.get('w')!;
    expect(w.shape).toEqual([2, 5]);
    expect(new Uint32Array(w.data.buffer)).toEqual(new Uint32Array(data.buffer));
    expect(file.metadata).toEqual({ format: 'pt' });
  });

  it('writeSafetensors then parseSafetensors keeps F16 and BF16 within half a unit in the last place', () => {
    const n = 1000;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i * 12.9898) * 1000 * 2 ** -(i % 20);
    const file = parseSafetensors(
      writeSafetensors({
        h: { dtype: 'F16', shape: [n], data },
        b: { dtype: 'BF16', shape: [10, n / 10], data },
      }),
    );
    const h = file.tensors.get('h')!.data;
    const b = file.tensors.get('b')!.data;
    for (let i = 0; i < n; i++) {
      const x = data[i];
      // F16: 11 significant bits, absolute floor 2^-25 from the subnormal spacing 2^-24.
      expect(Math.abs(h[i] - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -11, 2 ** -25));
      expect(Math.abs(b[i] - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -8);
    }
    expect(file.tensors.get('b')!.shape).toEqual([10, 100]);
  });

  it('writeSafetensors round-trips names JSON would reorder or misread', () => {
    const names = ['10', '2', '__proto__', 'blocks.0.attn.qkv.weight', 'ünïcode', ''];
    const input = Object.fromEntries(names.map((name, i) => [name, { dtype: 'F32' as const, shape: [1], data: new Float32Array([i]) }]));
    // Object.fromEntries defines "__proto__" as an own property, like the writer expects.
    const file = parseSafetensors(writeSafetensors(input));
    for (const [i, name] of names.entries()) expect(file.tensors.get(name)?.data[0]).toBe(i);
  });

  it('writeSafetensors rejects data whose length does not match the shape with shape-mismatch', () => {
    expect(() => writeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch' }),
    );
  });

  it('writeSafetensors rejects a tensor named __metadata__', () => {
    const input = { ['__metadata__']: { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) } };
    expect(() => writeSafetensors(input)).toThrowError(/reserved/);
  });
});

describe('parseSafetensors rejects malformed files', () => {
  const f32x2 = (name = 'w', begin = 0) => `"${name}":${entry('F32', [2], begin, begin + 8)}`;
  const eight = new Array<number>(8).fill(0);

  it('parseSafetensors rejects a file shorter than the 8-byte length', () => {
    expectMalformed(new Uint8Array([1, 0, 0, 0, 0]), 'too short for the 8-byte header length');
  });

  it('parseSafetensors rejects a huge header length before allocating', () => {
    expectMalformed(rawFile('{}', [], 0xffffffffffffffffn), 'exceeds the limit of 100000000 bytes');
    expectMalformed(rawFile('{}', [], 2n ** 53n + 1n), 'exceeds the limit');
  });

  it('parseSafetensors rejects a header length past the end of the file', () => {
    expectMalformed(rawFile('{}', [], 1000n), 'exceeds the 2 bytes after the length prefix; the file is truncated');
  });

  it('parseSafetensors honours maxHeaderBytes', () => {
    expectMalformed(rawFile('{}' + ' '.repeat(30)), 'exceeds the limit of 16 bytes', { maxHeaderBytes: 16 });
  });

  it('parseSafetensors rejects a header that is not UTF-8', () => {
    expectMalformed(rawFile(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 'not valid UTF-8');
  });

  it('parseSafetensors rejects a header that is not JSON', () => {
    expectMalformed(rawFile('{"w":'), 'not valid JSON');
    expectMalformed(rawFile(''), 'not valid JSON');
  });

  it('parseSafetensors rejects a JSON array, null or number as the header', () => {
    expectMalformed(rawFile('[]'), 'must be a JSON object, found an array of length 0');
    expectMalformed(rawFile('null'), 'found null');
    expectMalformed(rawFile('42'), 'found number 42');
  });

  it('parseSafetensors rejects an unsupported dtype by name and lists the supported ones', () => {
    expectMalformed(rawFile(`{"w":${entry('I64', [1], 0, 8)}}`, eight), 'tensor "w": dtype "I64" is not supported; supported dtypes are F32, F16, BF16');
    expectMalformed(rawFile(`{"w":${entry('toString', [1], 0, 8)}}`, eight), 'dtype "toString" is not supported');
    expectMalformed(rawFile(`{"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}}`, eight), 'tensor "w": dtype must be a string, found number 7');
  });

  it('parseSafetensors rejects negative, fractional and non-numeric shape entries', () => {
    expectMalformed(rawFile(`{"w":${entry('F32', [-2], 0, 8)}}`, eight), 'tensor "w": shape[0] must be a non-negative integer, found number -2');
    expectMalformed(rawFile(`{"w":${entry('F32', [2, 0.5], 0, 8)}}`, eight), 'shape[1] must be a non-negative integer, found number 0.5');
    expectMalformed(rawFile(`{"w":${entry('F32', ['2'], 0, 8)}}`, eight), 'found the string "2"');
    expectMalformed(rawFile(`{"w":${entry('F32', [1e300], 0, 8)}}`, eight), 'shape[0] must be a non-negative integer');
    expectMalformed(rawFile(`{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}`, eight), 'shape must be an array');
  });

  it('parseSafetensors rejects a shape whose element count overflows, without allocating', () => {
    const huge = 2 ** 30;
    expectMalformed(
      rawFile(`{"w":${entry('F32', [huge, huge], 0, 8)}}`, eight),
      'tensor "w": shape [1073741824, 1073741824] has more elements than the largest safe integer (product overflow)',
    );
    expectMalformed(rawFile(`{"w":${entry('F32', [2 ** 26, 2 ** 26], 0, 8)}}`, eight), '× 4 bytes overflows the largest safe integer');
  });

  it('parseSafetensors rejects offsets past the data area', () => {
    expectMalformed(rawFile(`{"w":${entry('F32', [2], 4, 12)}}`, eight), 'tensor "w": data_offsets [4, 12] end out of range; the data area holds 8 bytes');
  });

  it('parseSafetensors rejects offsets with begin after end, or not a pair of integers', () => {
    expectMalformed(rawFile(`{"w":${entry('F32', [0], 8, 0)}}`, eight), 'data_offsets [8, 0] has begin after end');
    expectMalformed(rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}`, eight), 'data_offsets must be [begin, end], found an array of length 1');
    expectMalformed(rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}`, eight), 'data_offsets end must be a non-negative integer');
    expectMalformed(rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}}`, eight), 'data_offsets begin must be a non-negative integer');
  });

  it('parseSafetensors rejects a byte count that does not match the shape', () => {
    expectMalformed(rawFile(`{"w":${entry('F32', [3], 0, 8)}}`, eight), 'tensor "w": shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] span 8');
    expectMalformed(rawFile(`{"w":${entry('F16', [2], 0, 8)}}`, eight), 'shape [2] of F16 needs 4 bytes');
  });

  it('parseSafetensors rejects overlapping tensors, naming both', () => {
    const bytes = rawFile(`{${f32x2('a', 0)},${f32x2('b', 4)}}`, new Array<number>(12).fill(0));
    expectMalformed(bytes, 'tensor "b": data_offsets [4, 12] overlap tensor "a" which ends at 8');
  });

  it('parseSafetensors rejects a gap between tensors', () => {
    const bytes = rawFile(`{${f32x2('a', 0)},${f32x2('b', 12)}}`, new Array<number>(20).fill(0));
    expectMalformed(bytes, 'tensor "b": data_offsets begin at 12, leaving a gap after byte 8');
  });

  it('parseSafetensors rejects a gap before the first tensor', () => {
    expectMalformed(rawFile(`{${f32x2('a', 4)}}`, new Array<number>(12).fill(0)), 'begin at 4, leaving a gap after byte 0');
  });

  it('parseSafetensors rejects data bytes that no tensor covers', () => {
    expectMalformed(
      rawFile(`{${f32x2('a', 0)}}`, new Array<number>(11).fill(0)),
      'data area is 11 bytes but the tensors cover only the first 8; 3 trailing bytes are uncovered',
    );
    expectMalformed(rawFile('{}', [0]), 'data area is 1 bytes but the tensors cover only the first 0');
  });

  it('parseSafetensors rejects malformed metadata and entries', () => {
    expectMalformed(rawFile('{"__metadata__":{"a":1}}'), '__metadata__["a"] must be a string, found number 1');
    expectMalformed(rawFile('{"__metadata__":[]}'), '__metadata__ must be an object of strings');
    expectMalformed(rawFile('{"w":3}'), 'tensor "w": expected an object with dtype, shape and data_offsets, found number 3');
    expectMalformed(rawFile('{"w":{}}'), 'tensor "w": dtype must be a string, found undefined');
  });

  it('parseSafetensors honours maxTensorBytes', () => {
    expectMalformed(rawFile(`{${f32x2('a', 0)}}`, eight), 'tensor "a": 8 bytes exceeds the per-tensor limit of 4 bytes', { maxTensorBytes: 4 });
  });
});
