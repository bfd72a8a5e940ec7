/**
 * IDX reader (the MNIST / Fashion-MNIST container), pure over bytes; gunzip first with `gunzip.ts`
 * (browser, worker) or `node-files.ts` (Node).
 *
 * Layout, all integers big-endian:
 *
 *   [0, 2)              0x00 0x00
 *   [2]                 dtype: 0x08 u8 (the only one TokenScope reads; 0x09 i8, 0x0B i16, 0x0C i32,
 *                       0x0D f32, 0x0E f64 are rejected by name)
 *   [3]                 ndims
 *   [4, 4 + 4·ndims)    u32 dims, outermost first
 *   then                product(dims) elements, row-major; the file ends exactly there.
 *
 * So labels have magic 0x00000801 ([n]) and images 0x00000803 ([n, rows, cols]).
 * Every rejection is a TokenScopeError with code 'data-malformed'.
 */
import { TokenScopeError } from '../errors';

/** A u8 IDX array: `data` has product(shape) elements, row-major (a copy, not a view of the input). */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

const DTYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: 'u8',
  0x09: 'i8',
  0x0b: 'i16',
  0x0c: 'i32',
  0x0d: 'f32',
  0x0e: 'f64',
};
const U8 = 0x08;

function malformed(source: string, message: string): never {
  throw new TokenScopeError('data-malformed', `${source}: ${message}`, { source });
}

function hex(v: number, digits: number): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}

/**
 * Parses a u8 IDX file with exactly `ndims` dimensions. `source` names the file in error messages.
 * Checks the magic, dtype, ndims, and that the length is exactly header + product(dims).
 */
export function parseIdx(bytes: Uint8Array, ndims: number, source = 'IDX file'): IdxArray {
  const expectedMagic = hex((U8 << 8) | ndims, 8);
  if (bytes.length < 4) malformed(source, `${bytes.length} bytes is too short for the 4-byte magic number ${expectedMagic}; the file is truncated`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    malformed(source, `magic number starts ${hex(bytes[0], 2)} ${hex(bytes[1], 2)}, expected 0x00 0x00 (${expectedMagic}); not an IDX file (still gzipped?)`);
  }
  const dtype = bytes[2];
  if (dtype !== U8) {
    const name = DTYPE_NAMES[dtype] ?? 'unknown';
    malformed(source, `dtype byte ${hex(dtype, 2)} (${name}) is not supported; expected ${hex(U8, 2)} (u8)`);
  }
  if (bytes[3] !== ndims) malformed(source, `has ${bytes[3]} dimensions (magic ${hex((bytes[2] << 8) | bytes[3], 8)}), expected ${ndims} (${expectedMagic})`);

  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) malformed(source, `${bytes.length} bytes is too short for the ${headerBytes}-byte header; the file is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(view.getUint32(4 + 4 * i, false));

  // Each dim < 2^32 and ndims ≤ 255, so the float product can lose precision only far above any
  // real length, where it still compares unequal.
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'is truncated' : 'has trailing bytes';
    malformed(source, `dims [${shape.join(', ')}] need ${expected} bytes but the file has ${bytes.length}; it ${what}`);
  }
  return { shape, data: bytes.slice(headerBytes) };
}

/** Labels file: magic 0x00000801, shape [n]. */
export function parseIdxLabels(bytes: Uint8Array, source = 'IDX labels'): IdxArray {
  return parseIdx(bytes, 1, source);
}

/** Images file: magic 0x00000803, shape [n, rows, cols]. */
export function parseIdxImages(bytes: Uint8Array, source = 'IDX images'): IdxArray {
  return parseIdx(bytes, 3, source);
}

/** True when `bytes` starts with the gzip magic 1f 8b. An IDX file never does (it starts 00 00). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
