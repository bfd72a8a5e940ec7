/**
 * safetensors reading and writing over plain bytes (no Node APIs: browser, worker and Node alike).
 *
 * Layout of a file:
 *
 *   [0, 8)            u64 little-endian n = header length in bytes
 *   [8, 8 + n)        UTF-8 JSON object, possibly padded with trailing spaces:
 *                       { "__metadata__"?: { string: string },
 *                         "<name>": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] }, ... }
 *   [8 + n, EOF)      the data area; offsets are relative to its start, every tensor is stored
 *                     row-major, little-endian, and the tensors tile the area with no gap or overlap.
 *
 * The reader checks everything the header claims against the file size before it allocates, so a
 * hostile file costs at most `maxHeaderBytes` of JSON plus output proportional to the file itself.
 * Every rejection is a TokenScopeError with code 'safetensors-malformed'.
 */
import { TokenScopeError } from '../errors';
import { bf16BitsToF32Bits, f16BitsToF32Bits, f32BitsToBf16Bits, f32BitsToF16Bits } from './float16';

/** The stored element types TokenScope reads and writes; every one decodes to float32. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

/** Bytes per element of each supported dtype. */
export const SAFETENSORS_ITEMSIZE: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F16: 2, BF16: 2 };

const SUPPORTED = Object.keys(SAFETENSORS_ITEMSIZE).join(', ');
const METADATA_KEY = '__metadata__';
const HEADER_PREFIX_BYTES = 8;

/** A decoded tensor: `data` is float32, row-major, with product(shape) elements. */
export interface SafetensorsTensor {
  /** The dtype the file stored; `data` is float32 whatever it was. */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** Where one tensor lives, as the header declares it (after validation). */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range [begin, end) relative to the start of the data area. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in header order. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Absolute byte offset of the data area (8 + header length). */
  dataStart: number;
}

export interface SafetensorsFile {
  /** Tensors in header order. */
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

export interface SafetensorsReadOptions {
  /** Largest header accepted, in bytes. Default 100 MB (100,000,000), the reference implementation's cap. */
  maxHeaderBytes?: number;
  /** Largest single tensor accepted, in stored bytes. Default: no cap beyond the file size. */
  maxTensorBytes?: number;
}

/** Input to `writeSafetensors`: `data` holds product(shape) float32 values, encoded to `dtype`. */
export interface SafetensorsTensorInput {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

function malformed(message: string, details?: Record<string, unknown>): never {
  throw new TokenScopeError('safetensors-malformed', `safetensors: ${message}`, details);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `[a, b, c]`, eliding the middle of very long shapes so a hostile header cannot bloat messages. */
function formatShape(shape: readonly number[]): string {
  return shape.length <= 8 ? `[${shape.join(', ')}]` : `[${shape.slice(0, 4).join(', ')}, … ${shape.length - 6} more …, ${shape.slice(-2).join(', ')}]`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/**
 * Reads and validates the header: length prefix, UTF-8, JSON shape, dtypes, shapes, byte counts,
 * and that the offsets tile the data area exactly. Allocates nothing proportional to the data.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, opts: SafetensorsReadOptions = {}): SafetensorsHeader {
  const maxHeaderBytes = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const maxTensorBytes = opts.maxTensorBytes ?? Number.MAX_SAFE_INTEGER;

  if (bytes.length < HEADER_PREFIX_BYTES) {
    malformed(`file is ${bytes.length} bytes, too short for the 8-byte header length; the file is truncated or not safetensors`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  const available = bytes.length - HEADER_PREFIX_BYTES;
  if (headerLen64 > BigInt(maxHeaderBytes)) {
    malformed(`header length ${headerLen64} exceeds the limit of ${maxHeaderBytes} bytes; the file is corrupt or not safetensors`, {
      headerLength: headerLen64.toString(),
    });
  }
  if (headerLen64 > BigInt(available)) {
    malformed(`header length ${headerLen64} exceeds the ${available} bytes after the length prefix; the file is truncated`);
  }
  const headerLen = Number(headerLen64); // ≤ maxHeaderBytes and ≤ file size: exact
  const dataStart = HEADER_PREFIX_BYTES + headerLen;
  const dataLength = bytes.length - dataStart;

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(HEADER_PREFIX_BYTES, dataStart));
  } catch {
    malformed(`header (${headerLen} bytes) is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    malformed(`header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(json)) malformed(`header must be a JSON object, found ${describe(json)}`);

  const metadata = parseMetadata(json[METADATA_KEY]);
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === METADATA_KEY) continue;
    entries.push(parseEntry(name, raw, dataLength, maxTensorBytes));
  }
  checkTiling(entries, dataLength);
  return { entries, metadata, dataStart };
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) malformed(`${METADATA_KEY} must be an object of strings, found ${describe(raw)}`);
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') malformed(`${METADATA_KEY}[${JSON.stringify(k)}] must be a string, found ${describe(v)}`);
  }
  // fromEntries defines own properties, so a key like "__proto__" stays plain data.
  return Object.fromEntries(Object.entries(raw as Record<string, string>));
}

function parseEntry(name: string, raw: unknown, dataLength: number, maxTensorBytes: number): SafetensorsEntry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(raw)) malformed(`${where}: expected an object with dtype, shape and data_offsets, found ${describe(raw)}`);

  const dtype = raw.dtype;
  if (typeof dtype !== 'string') malformed(`${where}: dtype must be a string, found ${describe(dtype)}`);
  if (!Object.hasOwn(SAFETENSORS_ITEMSIZE, dtype)) {
    malformed(`${where}: dtype ${JSON.stringify(dtype)} is not supported; supported dtypes are ${SUPPORTED}`, { tensor: name, dtype });
  }
  const itemsize = SAFETENSORS_ITEMSIZE[dtype as SafetensorsDtype];

  const rawShape = raw.shape;
  if (!Array.isArray(rawShape)) malformed(`${where}: shape must be an array of non-negative integers, found ${describe(rawShape)}`);
  const shape: number[] = [];
  for (let i = 0; i < rawShape.length; i++) {
    const d: unknown = rawShape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      malformed(`${where}: shape[${i}] must be a non-negative integer, found ${describe(d)}`);
    }
    shape.push(d === 0 ? 0 : d); // folds -0 into 0
  }
  const count = elementCount(shape, where);
  if (count > Math.floor(Number.MAX_SAFE_INTEGER / itemsize)) {
    malformed(`${where}: shape ${formatShape(shape)} × ${itemsize} bytes overflows the largest safe integer`);
  }
  const byteCount = count * itemsize;

  const offsets = raw.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    malformed(`${where}: data_offsets must be [begin, end], found ${describe(offsets)}`);
  }
  const [begin, end]: unknown[] = offsets;
  for (const [label, v] of [
    ['begin', begin],
    ['end', end],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      malformed(`${where}: data_offsets ${label} must be a non-negative integer, found ${describe(v)}`);
    }
  }
  const b = begin as number;
  const e = end as number;
  if (b > e) malformed(`${where}: data_offsets [${b}, ${e}] has begin after end`);
  if (e > dataLength) {
    malformed(`${where}: data_offsets [${b}, ${e}] end out of range; the data area holds ${dataLength} bytes`, {
      tensor: name,
      begin: b,
      end: e,
      dataLength,
    });
  }
  if (e - b !== byteCount) {
    malformed(`${where}: shape ${formatShape(shape)} of ${dtype} needs ${byteCount} bytes, but data_offsets [${b}, ${e}] span ${e - b}`, {
      tensor: name,
      expectedBytes: byteCount,
      foundBytes: e - b,
    });
  }
  if (byteCount > maxTensorBytes) {
    malformed(`${where}: ${byteCount} bytes exceeds the per-tensor limit of ${maxTensorBytes} bytes`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape, begin: b, end: e };
}

/** product(shape), rejecting products above Number.MAX_SAFE_INTEGER (checked before each multiply). */
function elementCount(shape: readonly number[], where: string): number {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const d of shape) {
    if (count > Math.floor(Number.MAX_SAFE_INTEGER / d)) {
      malformed(`${where}: shape ${formatShape(shape)} has more elements than the largest safe integer (product overflow)`);
    }
    count *= d;
  }
  return count;
}

/** Offsets must tile [0, dataLength) exactly: sorted by begin, each starts where the previous ended. */
function checkTiling(entries: readonly SafetensorsEntry[], dataLength: number): void {
  const sorted = [...entries].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  let previous: SafetensorsEntry | null = null;
  for (const entry of sorted) {
    const where = `tensor ${JSON.stringify(entry.name)}`;
    if (entry.begin < cursor) {
      malformed(`${where}: data_offsets [${entry.begin}, ${entry.end}] overlap tensor ${JSON.stringify(previous?.name)} which ends at ${cursor}`);
    }
    if (entry.begin > cursor) {
      malformed(`${where}: data_offsets begin at ${entry.begin}, leaving a gap after byte ${cursor}; tensors must be contiguous`);
    }
    cursor = entry.end;
    previous = entry;
  }
  if (cursor !== dataLength) {
    malformed(`data area is ${dataLength} bytes but the tensors cover only the first ${cursor}; ${dataLength - cursor} trailing bytes are uncovered`);
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Decodes `src` (stored bytes of one tensor, any alignment) into float32. */
function decode(src: Uint8Array, dtype: SafetensorsDtype, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(out.buffer).set(src); // byte copy into the aligned output: no alignment assumed
    } else {
      const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
    }
    return out;
  }
  const bits = new Uint32Array(out.buffer); // write bit patterns so NaN payloads survive
  const widen = dtype === 'F16' ? f16BitsToF32Bits : bf16BitsToF32Bits;
  for (let i = 0; i < count; i++) bits[i] = widen(src[2 * i] | (src[2 * i + 1] << 8));
  return out;
}

/** Parses and decodes a whole safetensors file; see the module comment for the layout and checks. */
export function parseSafetensors(bytes: Uint8Array, opts: SafetensorsReadOptions = {}): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes, opts);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const { name, dtype, shape, begin, end } of header.entries) {
    const src = bytes.subarray(header.dataStart + begin, header.dataStart + end);
    const data = decode(src, dtype, (end - begin) / SAFETENSORS_ITEMSIZE[dtype]);
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata: header.metadata };
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Encodes tensors as a safetensors file. The header is padded with spaces to a multiple of 8 bytes,
 * and tensors are laid out widest dtype first (then in the given order), so every tensor starts at
 * an offset aligned to its item size. F16 and BF16 round to nearest, ties to even.
 * Throws 'shape-mismatch' when data.length ≠ product(shape) and 'safetensors-malformed' for a
 * name or dtype the format cannot hold.
 */
export function writeSafetensors(tensors: Record<string, SafetensorsTensorInput>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    const { dtype, shape, data } = tensors[name];
    if (name === METADATA_KEY) malformed(`cannot write a tensor named ${METADATA_KEY}; the name is reserved for metadata`);
    if (!Object.hasOwn(SAFETENSORS_ITEMSIZE, dtype)) {
      malformed(`cannot write tensor ${JSON.stringify(name)} as dtype ${JSON.stringify(dtype)}; supported dtypes are ${SUPPORTED}`);
    }
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || product(shape) !== data.length) {
      throw new TokenScopeError(
        'shape-mismatch',
        `safetensors: tensor ${JSON.stringify(name)} has shape ${formatShape(shape)} but ${data.length} values; shape must be non-negative integers whose product is the value count`,
      );
    }
  }
  const order = names
    .map((name, index) => ({ name, index }))
    .sort((a, b) => SAFETENSORS_ITEMSIZE[tensors[b.name].dtype] - SAFETENSORS_ITEMSIZE[tensors[a.name].dtype] || a.index - b.index)
    .map(({ name }) => name);

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') malformed(`cannot write metadata ${JSON.stringify(k)}: values must be strings`);
    }
    header[METADATA_KEY] = metadata;
  }
  let cursor = 0;
  for (const name of order) {
    const { dtype, shape, data } = tensors[name];
    const size = data.length * SAFETENSORS_ITEMSIZE[dtype];
    Object.defineProperty(header, name, {
      value: { dtype, shape, data_offsets: [cursor, cursor + size] },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    cursor += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(HEADER_PREFIX_BYTES + headerLen + cursor);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, HEADER_PREFIX_BYTES);
  out.fill(0x20, HEADER_PREFIX_BYTES + json.length, HEADER_PREFIX_BYTES + headerLen);

  let offset = HEADER_PREFIX_BYTES + headerLen;
  for (const name of order) {
    const { dtype, data } = tensors[name];
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    if (dtype === 'F32') {
      for (let i = 0; i < data.length; i++) view.setUint32(offset + 4 * i, bits[i], true);
    } else {
      const narrow = dtype === 'F16' ? f32BitsToF16Bits : f32BitsToBf16Bits;
      for (let i = 0; i < data.length; i++) view.setUint16(offset + 2 * i, narrow(bits[i]), true);
    }
    offset += data.length * SAFETENSORS_ITEMSIZE[dtype];
  }
  return out;
}
