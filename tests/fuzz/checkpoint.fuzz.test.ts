/**
 * Seeded mutation fuzzing of loadCheckpoint, one level above the safetensors reader's fuzz test:
 * valid checkpoints in every naming (with and without config.json) are mutated — tensors dropped,
 * renamed, reshaped, re-typed, poisoned with NaN, extra blocks added, layouts mixed, config.json
 * fields changed, bytes flipped, files truncated — and each case must end in one of two ways:
 * a TokenScopeError, or a model whose weights match its config and whose forward pass returns
 * one logit per class. Anything else (RangeError, TypeError, a TF.js shape error) fails with the
 * case number and mutation.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TokenScopeError } from '../../src/errors';
import { disposeCheckpoint, loadCheckpoint, type CheckpointFiles } from '../../src/io/checkpoint';
import { type SafetensorsDtype } from '../../src/io/safetensors';
import { numLabels, type VitConfig } from '../../src/model/config';
import { forwardTensors } from '../../src/model/vit';
import { listWeights, type NamedArrays } from '../../src/model/weights';
import { encodeCheckpoint, hfConfigJson, LAYOUTS, randomTimmArrays, renameTo, seededRandom, timmConfigJson, type Layout } from '../helpers/checkpoints';
import { useWasmBackend } from '../helpers/tf';

useWasmBackend();

// FUZZ_SEED / FUZZ_CASES widen a local run; CI uses the defaults (about 2 s).
const SEED = Number(process.env.FUZZ_SEED ?? 0xc4ec7);
const CASES = Number(process.env.FUZZ_CASES ?? 1200);

const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `c${i}`]));
const BASES: VitConfig[] = [
  {
    hidden_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: 32,
    image_size: 8,
    patch_size: 4,
    num_channels: 3,
    layer_norm_eps: 1e-6,
    id2label: labels(3),
    distilled: false,
  },
  {
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 48,
    image_size: 4,
    patch_size: 2,
    num_channels: 1,
    layer_norm_eps: 1e-6,
    id2label: labels(4),
    distilled: true,
  },
];

interface Base {
  config: VitConfig;
  layout: Layout;
  named: NamedArrays;
  configJson: Record<string, unknown> | undefined;
}

function bases(): Base[] {
  const out: Base[] = [];
  for (const [i, config] of BASES.entries()) {
    for (const layout of LAYOUTS) {
      if (config.distilled && layout === 'hf-vit') continue;
      const named = renameTo(randomTimmArrays(config, 40 + i), layout);
      const configJson = layout === 'timm' ? timmConfigJson('deit_fuzz', numLabels(config), config.image_size) : hfConfigJson(config, layout);
      out.push({ config, layout, named, configJson }, { config, layout, named, configJson: undefined });
    }
  }
  return out;
}

type Random = { next: () => number; int: (n: number) => number; pick: <T>(xs: readonly T[]) => T };

function makeRandom(seed: number): Random {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)] };
}

const clone = (named: NamedArrays): NamedArrays => new Map([...named].map(([k, v]) => [k, { shape: v.shape.slice(), data: v.data }]));
const fresh = (shape: number[], r: Random) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.next() - 0.5) });

/** Mutations of the tensor map (the file stays well-formed). */
const TENSOR_MUTATIONS: Record<string, (m: NamedArrays, r: Random) => void> = {
  drop: (m, r) => void m.delete(r.pick([...m.keys()])),
  rename: (m, r) => {
    const from = r.pick([...m.keys()]);
    const to = r.pick([...m.keys(), 'blocks.9.norm1.weight', 'head_dist.weight', 'vit.embeddings.cls_token', 'deit.layernorm.bias', 'x', '']);
    const e = m.get(from)!;
    m.delete(from);
    m.set(to, e);
  },
  swap: (m, r) => {
    const [a, b] = [r.pick([...m.keys()]), r.pick([...m.keys()])];
    const [ea, eb] = [m.get(a)!, m.get(b)!];
    m.set(a, eb);
    m.set(b, ea);
  },
  transpose: (m, r) => {
    const k = r.pick([...m.keys()]);
    const e = m.get(k)!;
    m.set(k, { shape: [...e.shape].reverse(), data: e.data });
  },
  flatten: (m, r) => {
    const k = r.pick([...m.keys()]);
    const e = m.get(k)!;
    m.set(k, { shape: r.int(2) ? [e.data.length] : [1, ...e.shape, 1], data: e.data });
  },
  resize: (m, r) => {
    const k = r.pick([...m.keys()]);
    const e = m.get(k)!;
    const shape = e.shape.map((d) => (r.int(3) === 0 ? Math.max(0, d + r.pick([-1, 1, 2, -d, 64])) : d));
    m.set(k, fresh(shape, r));
  },
  zero: (m, r) => {
    const k = r.pick([...m.keys()]);
    m.set(k, { shape: [0, ...m.get(k)!.shape.slice(1)], data: new Float32Array(0) });
  },
  scalar: (m, r) => void m.set(r.pick([...m.keys()]), { shape: [], data: new Float32Array([1]) }),
  poison: (m, r) => {
    const k = r.pick([...m.keys()]);
    const e = m.get(k)!;
    if (e.data.length === 0) return;
    const data = e.data.slice();
    data[r.int(data.length)] = r.pick([Number.NaN, Infinity, -Infinity, 3e38]);
    m.set(k, { shape: e.shape, data });
  },
  extraBlock: (m, r) => {
    const D = 64;
    m.set(`blocks.${r.pick([2, 5, 40])}.norm1.weight`, fresh([D], r));
  },
  extraTensor: (m, r) => void m.set(r.pick(['pooler.weight', 'vit.pooler.dense.bias', 'fc_norm.weight', 'head.extra']), fresh([r.int(5) + 1], r)),
  mixLayout: (m, r) => {
    const k = r.pick([...m.keys()]);
    const e = m.get(k)!;
    m.delete(k);
    m.set(k.startsWith('vit.') ? k.replace('vit.', 'deit.') : k.startsWith('deit.') ? k.replace('deit.', 'vit.') : `vit.${k}`, e);
  },
  qkvPart: (m, r) => {
    const k = r.pick([...m.keys()].filter((n) => /query|key|value|qkv/.test(n)));
    if (!k) return;
    const e = m.get(k)!;
    m.set(k, fresh([Math.max(1, e.shape[0] + r.pick([-1, 1, 64])), ...e.shape.slice(1)], r));
  },
};

/** Mutations of config.json. */
const CONFIG_MUTATIONS: Record<string, (c: Record<string, unknown>, r: Random) => unknown> = {
  field: (c, r) => ({
    ...c,
    [r.pick([
      'hidden_size',
      'num_hidden_layers',
      'num_attention_heads',
      'intermediate_size',
      'image_size',
      'patch_size',
      'num_channels',
      'layer_norm_eps',
      'num_labels',
      'distilled',
    ])]: r.pick([0, -1, 1, 2, 3, 7, 64, 1e9, 0.5, 'x', null, true, [], {}]),
  }),
  drop: (c, r) => {
    const copy = { ...c };
    delete copy[r.pick(Object.keys(c))];
    return copy;
  },
  labels: (c, r) => ({
    ...c,
    id2label: r.pick([{}, { 0: 'a' }, [1, 2], 'x', labels(1000), { 0: 1, 1: null, 2: {} }]),
    label_names: r.pick([['a'], ['a', 'b', 'c'], 'x', [1, 2, 3]]),
  }),
  preprocess: (c, r) => ({
    ...c,
    image_mean: r.pick([[0.5], [1, 2, 3], 'x', [NaN, 0, 0], 0.5]),
    image_std: r.pick([[0, 0, 0], [1], 1, -1]),
    pretrained_cfg: r.pick([
      { crop_pct: 0 },
      { crop_pct: 2, interpolation: 'lanczos' },
      { mean: [1], std: [0] },
      { input_size: [3, 999, 999], crop_mode: 'border' },
      'x',
    ]),
  }),
  replace: (_c, r) => r.pick([null, 42, 'config', [], { architecture: 'vit' }, { hidden_size: 64 }]),
};

function mutateBytes(bytes: Uint8Array, r: Random): Uint8Array {
  const out = bytes.slice();
  switch (r.int(3)) {
    case 0: // flip a header byte
      out[8 + r.int(Math.min(out.length - 8, 400))] ^= 1 << r.int(8);
      return out;
    case 1: // flip bytes in the data area
      for (let i = 0; i < 1 + r.int(4); i++) out[r.int(out.length)] ^= 1 << r.int(8);
      return out;
    default: // truncate or extend
      return r.int(2) ? out.subarray(0, r.int(out.length)) : Uint8Array.from([...out, ...Array(1 + r.int(9)).fill(0)]);
  }
}

function makeCase(all: Base[], r: Random): { files: CheckpointFiles; label: string } {
  const base = r.pick(all);
  const named = clone(base.named);
  const applied: string[] = [`${base.layout}${base.configJson ? '+config' : ''}`];
  for (let i = 0, n = 1 + r.int(2); i < n; i++) {
    const [name, fn] = r.pick(Object.entries(TENSOR_MUTATIONS));
    fn(named, r);
    applied.push(name);
  }
  let config: unknown = base.configJson;
  if (config && r.int(3) === 0) {
    const [name, fn] = r.pick(Object.entries(CONFIG_MUTATIONS));
    config = fn(config as Record<string, unknown>, r);
    applied.push(`config.${name}`);
  }
  const dtype: SafetensorsDtype = r.pick(['F32', 'F16', 'BF16']);
  let bytes: Uint8Array;
  try {
    bytes = encodeCheckpoint(named, dtype);
  } catch {
    bytes = encodeCheckpoint(base.named, dtype); // a mutation the writer refuses (empty name, …): keep the bytes valid
  }
  if (r.int(4) === 0) {
    bytes = mutateBytes(bytes, r);
    applied.push('bytes');
  }
  return { files: { safetensors: bytes, config }, label: `${applied.join(' + ')} (${dtype})` };
}

/** A loaded model must be internally consistent and produce [1, labels] logits. */
function checkModel(files: CheckpointFiles, label: string): void {
  const r = loadCheckpoint(files);
  try {
    const c = r.config;
    for (const k of ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'image_size', 'patch_size', 'num_channels'] as const) {
      expect(Number.isInteger(c[k]) && c[k] > 0, `${label}: ${k} = ${c[k]}`).toBe(true);
    }
    expect(c.hidden_size % c.num_attention_heads, label).toBe(0);
    const per = 12 * c.num_hidden_layers + 8 + (c.distilled ? 3 : 0);
    expect(listWeights(r.model.weights).length, label).toBe(per);
    const x = tf.zeros([1, c.image_size, c.image_size, c.num_channels]) as tf.Tensor4D;
    const { logits } = forwardTensors(c, r.model.weights, x, { hooks: Array(c.num_hidden_layers).fill(null), propAttn: false, keepAssignments: false });
    expect(logits.shape, label).toEqual([1, numLabels(c)]);
    tf.dispose([x, logits]);
  } finally {
    disposeCheckpoint(r);
  }
}

describe('loadCheckpoint under mutation', () => {
  it(`loadCheckpoint either throws a TokenScopeError or loads a working model, over ${CASES} seeded mutated checkpoints`, () => {
    const all = bases();
    const r = makeRandom(SEED);
    const outcomes = { loaded: 0, rejected: new Map<string, number>() };
    const tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < CASES; i++) {
      const { files, label } = makeCase(all, r);
      try {
        checkModel(files, `case ${i}: ${label}`);
        outcomes.loaded++;
      } catch (e) {
        if (!(e instanceof TokenScopeError)) {
          throw new Error(`case ${i} (${label}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
        }
        outcomes.rejected.set(e.code, (outcomes.rejected.get(e.code) ?? 0) + 1);
      }
    }
    // Both outcomes occur, and failed loads leave no tensors behind.
    expect(outcomes.loaded).toBeGreaterThan(CASES / 20);
    expect([...outcomes.rejected.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(CASES / 2);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});
