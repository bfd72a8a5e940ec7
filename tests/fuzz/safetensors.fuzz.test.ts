/**
 * Seeded mutation fuzzing of parseSafetensors. Each case mutates a valid file (truncation, bit
 * flips, header text edits, huge lengths, shuffled or overlapping offsets, dtype and shape swaps)
 * and requires one of two outcomes: a TokenScopeError with code 'safetensors-malformed', or a
 * parse whose tensors are self-consistent and exactly tile the data area. Anything else thrown
 * (RangeError, TypeError, ...) fails the test with the seed and mutation that caused it.
 */
import { describe, expect, it } from 'vitest';
import { TokenScopeError } from '../../src/errors';
import { parseSafetensors, SAFETENSORS_ITEMSIZE, writeSafetensors, type SafetensorsDtype } from '../../src/io/safetensors';

const SEED = 0x5afe7e45;
const CASES = 10000;

/** mulberry32: a small, well-mixed 32-bit PRNG; same seed, same cases. */
function makeRandom(seed: number): { next: () => number; int: (n: number) => number; pick: <T>(xs: readonly T[]) => T } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)] };
}
type Random = ReturnType<typeof makeRandom>;

function values(n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i + scale) * scale);
}

/** Valid starting points: every dtype, scalars, empty tensors, metadata, one odd-length raw header. */
function baseFiles(): Uint8Array[] {
  const files = [
    writeSafetensors({ w: { dtype: 'F32', shape: [3, 4], data: values(12, 3) } }),
    writeSafetensors(
      {
        'blocks.0.attn.qkv.weight': { dtype: 'F16', shape: [2, 3], data: values(6, 100) },
        'blocks.0.attn.qkv.bias': { dtype: 'BF16', shape: [3], data: values(3, 1e5) },
        scale: { dtype: 'F32', shape: [], data: new Float32Array([0.125]) },
        empty: { dtype: 'F16', shape: [0, 5], data: new Float32Array(0) },
      },
      { format: 'pt', source: 'fuzz' },
    ),
    writeSafetensors({
      a: { dtype: 'BF16', shape: [1, 1, 5], data: values(5, 7) },
      b: { dtype: 'F16', shape: [7], data: values(7, 60000) },
      c: { dtype: 'F32', shape: [2], data: new Float32Array([NaN, -Infinity]) },
    }),
  ];
  // Hand-made, unpadded header of odd length so the data area is unaligned.
  const header = new TextEncoder().encode('{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}');
  const raw = new Uint8Array(8 + header.length + 8);
  new DataView(raw.buffer).setBigUint64(0, BigInt(header.length), true);
  raw.set(header, 8);
  raw.set([0x00, 0x3c, 0x00, 0xbc, 0x00, 0x00, 0x80, 0x3f], 8 + header.length);
  files.push(raw);
  return files;
}

/** Splits a valid file into its header object and data area (bases are valid, so this cannot fail). */
function split(file: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, unknown>;
  return { header, data: file.subarray(8 + n) };
}

function assemble(headerText: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

type TensorJson = { dtype?: unknown; shape?: unknown; data_offsets?: unknown };

function tensorNames(header: Record<string, unknown>): string[] {
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

const ODD_NUMBERS = [-1, 0, 1, 2, 3, 7, 8, 0.5, -0, 1e300, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, 2 ** 64, 2 ** 26, 2 ** 30];
const ODD_VALUES: readonly unknown[] = [...ODD_NUMBERS, null, '3', [], {}, true, [1, 2]];
const DTYPES: readonly unknown[] = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'f32', '', 'constructor', 5, null];

/** Structured header edits: the JSON stays valid, its meaning does not. */
function editHeader(r: Random, header: Record<string, unknown>): string {
  const names = tensorNames(header);
  const tensor = (name: string): TensorJson => header[name] as TensorJson;
  const kind = r.int(9);
  if (names.length === 0 && kind < 7) {
    header[`t${r.int(9)}`] = { dtype: r.pick(DTYPES), shape: [r.pick(ODD_NUMBERS)], data_offsets: [0, r.pick(ODD_NUMBERS)] };
    return JSON.stringify(header);
  }
  const name = r.pick(names);
  switch (kind) {
    case 0: {
      // shuffle offsets between tensors
      const offsets = names.map((n) => tensor(n).data_offsets);
      for (let i = offsets.length - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [offsets[i], offsets[j]] = [offsets[j], offsets[i]];
      }
      names.forEach((n, i) => (tensor(n).data_offsets = offsets[i]));
      break;
    }
    case 1: {
      // make one tensor overlap another (or itself shifted)
      const other = tensor(r.pick(names)).data_offsets as number[];
      const shift = r.int(6) - 2;
      tensor(name).data_offsets = [other[0] + shift, other[1] + shift];
      break;
    }
    case 2: // arbitrary offsets
      tensor(name).data_offsets = r.pick([[r.pick(ODD_VALUES), r.pick(ODD_VALUES)], [r.int(64), r.int(64)], [r.int(16)], r.pick(ODD_VALUES)]);
      break;
    case 3: // dtype swap
      tensor(name).dtype = r.pick(DTYPES);
      break;
    case 4: {
      // shape edit: change, add or remove a dim, or replace the whole thing
      const shape = Array.isArray(tensor(name).shape) ? [...(tensor(name).shape as unknown[])] : [];
      const op = r.int(4);
      if (op === 0 && shape.length > 0) shape[r.int(shape.length)] = r.pick(ODD_VALUES);
      else if (op === 1) shape.push(r.pick(ODD_NUMBERS));
      else if (op === 2) shape.pop();
      tensor(name).shape = op === 3 ? r.pick(ODD_VALUES) : shape;
      break;
    }
    case 5: // delete a field or a tensor
      if (r.next() < 0.5) delete header[name];
      else delete (tensor(name) as Record<string, unknown>)[r.pick(['dtype', 'shape', 'data_offsets'])];
      break;
    case 6: // replace a tensor entry wholesale
      header[name] = r.pick(ODD_VALUES);
      break;
    case 7: // metadata edits
      header.__metadata__ = r.pick([{ k: 'v' }, { k: 1 }, [], null, 'x', { __proto__: 'x' }, {}]);
      break;
    default: // a huge shape product
      tensor(name).shape = [2 ** 26, 2 ** 26, r.int(3) + 1].slice(0, 2 + r.int(2));
  }
  return JSON.stringify(header);
}

/** Raw text edits: the header may stop being JSON; the length prefix may or may not follow. */
function editHeaderText(r: Random, text: string): string {
  const at = r.int(text.length + 1);
  switch (r.int(4)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + r.int(8));
    case 1:
      return text.slice(0, at) + r.pick(['{', '}', '[', ']', '"', ',', ':', '-', '1', '9', 'e', ' ', '\\', '\u00e9', '\ud800']) + text.slice(at);
    case 2:
      return text.replace(/\d/g, (d) => (r.next() < 0.2 ? String(r.int(10)) : d));
    default:
      return text.slice(0, at);
  }
}

const MUTATIONS = ['truncate', 'extend', 'bitflip', 'headerBitflip', 'hugeLength', 'headerEdit', 'headerText', 'dataResize'] as const;
type Mutation = (typeof MUTATIONS)[number];

function mutate(r: Random, file: Uint8Array, kind: Mutation): Uint8Array {
  const headerEnd = Math.min(file.length, 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true) & 0xffffn));
  switch (kind) {
    case 'truncate':
      return file.slice(0, r.int(file.length));
    case 'extend': {
      const out = new Uint8Array(file.length + 1 + r.int(16));
      out.set(file);
      for (let i = file.length; i < out.length; i++) out[i] = r.int(256);
      return out;
    }
    case 'bitflip': {
      const out = file.slice();
      for (let k = 1 + r.int(8); k > 0; k--) out[r.int(out.length)] ^= 1 << r.int(8);
      return out;
    }
    case 'headerBitflip': {
      const out = file.slice();
      for (let k = 1 + r.int(3); k > 0; k--) out[8 + r.int(Math.max(1, headerEnd - 8))] ^= 1 << r.int(8);
      return out;
    }
    case 'hugeLength': {
      const out = file.slice();
      const len = r.pick([2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 32n, 100_000_001n, BigInt(file.length), BigInt(r.int(file.length + 16))]);
      new DataView(out.buffer).setBigUint64(0, len, true);
      return out;
    }
    case 'headerEdit': {
      const { header, data } = split(file);
      return assemble(editHeader(r, header), data);
    }
    case 'headerText': {
      const { data } = split(file);
      const text = new TextDecoder().decode(file.subarray(8, file.length - data.length));
      const edited = assemble(editHeaderText(r, text), data);
      if (r.next() < 0.3) new DataView(edited.buffer).setBigUint64(0, BigInt(text.length), true); // stale length
      return edited;
    }
    case 'dataResize': {
      const { header, data } = split(file);
      const size = Math.max(0, data.length + r.int(9) - 4);
      const resized = new Uint8Array(size);
      resized.set(data.subarray(0, size));
      return assemble(JSON.stringify(header), resized);
    }
  }
}

/** Independent consistency check of a successful parse against the raw bytes. */
function checkConsistent(bytes: Uint8Array, file: ReturnType<typeof parseSafetensors>): string | null {
  const dataLength = bytes.length - 8 - Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  let covered = 0;
  for (const [name, t] of file.tensors) {
    if (!Object.hasOwn(SAFETENSORS_ITEMSIZE, t.dtype)) return `${name}: dtype ${t.dtype}`;
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return `${name}: shape ${JSON.stringify(t.shape)}`;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof Float32Array) || t.data.length !== count) return `${name}: ${t.data.length} values for shape [${t.shape}]`;
    covered += count * SAFETENSORS_ITEMSIZE[t.dtype as SafetensorsDtype];
  }
  return covered === dataLength ? null : `tensors cover ${covered} of ${dataLength} data bytes`;
}

describe('parseSafetensors under fuzzing', () => {
  it(`parseSafetensors either rejects with safetensors-malformed or parses consistently, over ${CASES} seeded mutations`, () => {
    const r = makeRandom(SEED);
    const bases = baseFiles();
    const problems: string[] = [];
    const outcomes: Record<Mutation, { parsed: number; rejected: number }> = Object.fromEntries(MUTATIONS.map((m) => [m, { parsed: 0, rejected: 0 }])) as Record<
      Mutation,
      { parsed: number; rejected: number }
    >;

    for (let i = 0; i < CASES; i++) {
      let bytes = r.pick(bases);
      const chain: Mutation[] = [];
      for (let k = 1 + (r.next() < 0.25 ? 1 : 0); k > 0; k--) {
        const kind = r.pick(MUTATIONS);
        chain.push(kind);
        try {
          bytes = mutate(r, bytes, kind);
        } catch {
          // A structured edit needs a valid file; after an earlier mutation that may not hold. Keep the bytes.
        }
      }
      const label = `case ${i} (${chain.join(' + ')})`;
      try {
        const file = parseSafetensors(bytes);
        const bad = checkConsistent(bytes, file);
        if (bad) problems.push(`${label}: parsed inconsistently: ${bad}`);
        outcomes[chain[chain.length - 1]].parsed++;
      } catch (e) {
        if (!(e instanceof TokenScopeError) || e.code !== 'safetensors-malformed') {
          problems.push(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
        outcomes[chain[chain.length - 1]].rejected++;
      }
    }

    expect(problems).toEqual([]);
    for (const m of MUTATIONS) expect(outcomes[m].rejected, `${m} never produced a rejection`).toBeGreaterThan(0);
    const parsed = MUTATIONS.reduce((s, m) => s + outcomes[m].parsed, 0);
    expect(parsed, 'no mutation survived, so the success path went unchecked').toBeGreaterThan(CASES / 50);
  });
});
