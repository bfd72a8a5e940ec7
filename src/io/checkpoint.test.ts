import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DTYPES,
  LAYOUTS,
  encodeCheckpoint,
  hfConfigJson,
  randomPixels,
  randomTimmArrays,
  renameTo,
  timmConfigJson,
  timmNamesOf,
  smallVitConfig,
  type Layout,
} from '../../tests/helpers/checkpoints';
import { referenceForward } from '../../tests/helpers/reference-vit';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';
import type { VitConfig } from '../model/config';
import { forwardTensors } from '../model/vit';
import { listWeights, weightsToTimm, type NamedArrays } from '../model/weights';
import { disposeCheckpoint, loadCheckpoint, readCheckpointFiles, type LoadedCheckpoint } from './checkpoint';
import { parseSafetensors, type SafetensorsDtype } from './safetensors';

useWasmBackend();

const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `class ${i}`]));

/** Two small models whose head width is 64, so inference can recover every number. */
const PLAIN = smallVitConfig(labels(5));
const DISTILLED: VitConfig = {
  hidden_size: 128,
  num_hidden_layers: 3,
  num_attention_heads: 2,
  intermediate_size: 160,
  image_size: 12,
  patch_size: 4,
  num_channels: 1,
  layer_norm_eps: 1e-6,
  id2label: labels(7),
  distilled: true,
};
const CASES = [
  { name: 'ViT (no distillation token)', config: PLAIN, seed: 11 },
  { name: 'DeiT distilled', config: DISTILLED, seed: 12 },
];

const loaded: LoadedCheckpoint[] = [];
afterAll(() => loaded.forEach(disposeCheckpoint));

function load(...args: Parameters<typeof loadCheckpoint>): LoadedCheckpoint {
  const r = loadCheckpoint(...args);
  loaded.push(r);
  return r;
}

async function logitsOf(r: LoadedCheckpoint, pixels: number[][][]): Promise<number[]> {
  const x = tf.tensor4d([pixels]);
  const { logits } = forwardTensors(r.config, r.model.weights, x, { hooks: Array(r.config.num_hidden_layers).fill(null), propAttn: false, keepAssignments: false });
  const out = Array.from(await logits.data());
  tf.dispose([x, logits]);
  return out;
}

/** The architecture fields of a config (what a checkpoint can say about itself). */
const arch = (c: VitConfig) => ({
  hidden_size: c.hidden_size,
  num_hidden_layers: c.num_hidden_layers,
  num_attention_heads: c.num_attention_heads,
  intermediate_size: c.intermediate_size,
  image_size: c.image_size,
  patch_size: c.patch_size,
  num_channels: c.num_channels,
  layer_norm_eps: c.layer_norm_eps,
  distilled: c.distilled === true,
  labels: Object.keys(c.id2label).length,
});

/** Largest rounding error of one stored value: half an ulp of the format, relative (F16 subnormals absolute). */
function roundingBound(dtype: SafetensorsDtype, v: number): number {
  if (dtype === 'F32') return 0;
  if (dtype === 'BF16') return Math.abs(v) * 2 ** -8;
  return Math.max(Math.abs(v) * 2 ** -11, 2 ** -25);
}

function fileFor(config: VitConfig, layout: Layout, dtype: SafetensorsDtype, seed: number) {
  const timm = randomTimmArrays(config, seed);
  return { timm, bytes: encodeCheckpoint(renameTo(timm, layout), dtype) };
}

describe('loadCheckpoint', () => {
  for (const { name, config, seed } of CASES) {
    const layouts = LAYOUTS.filter((l) => !(config.distilled && l === 'hf-vit'));

    it(`loadCheckpoint gives identical logits in every naming, with and without config.json (${name})`, async () => {
      const pixels = randomPixels(config, seed + 100);
      const results: { label: string; logits: number[] }[] = [];
      for (const layout of layouts) {
        const { bytes } = fileFor(config, layout, 'F32', seed);
        const inferred = load({ safetensors: bytes });
        expect(inferred.layout).toBe(layout);
        expect(inferred.configSource).toBe('tensor shapes');
        results.push({ label: `${layout}, inferred`, logits: await logitsOf(inferred, pixels) });
        const configJson = layout === 'timm' ? timmConfigJson('deit_test', 7, config.image_size) : hfConfigJson(config, layout);
        const withConfig = load({ safetensors: bytes, config: configJson });
        results.push({ label: `${layout}, config.json`, logits: await logitsOf(withConfig, pixels) });
      }
      for (const r of results) expect(r.logits, r.label).toEqual(results[0].logits);
    });

    it(`loadCheckpoint agrees with the independent float64 forward within 1e-3 for every naming and dtype (${name})`, async () => {
      const pixels = randomPixels(config, seed + 200);
      for (const layout of layouts) {
        for (const dtype of DTYPES) {
          const { bytes } = fileFor(config, layout, dtype, seed);
          const r = load({ safetensors: bytes });
          // The reference reads the same file, renamed by the test's own description of the layout.
          const fromFile: NamedArrays = new Map([...parseSafetensors(bytes).tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data }]));
          const want = referenceForward(config, timmNamesOf(fromFile, layout), pixels);
          const got = await logitsOf(r, pixels);
          const diff = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
          expect(diff, `${layout} ${dtype}: max |logit − reference|`).toBeLessThan(1e-3);
        }
      }
    });

    it(`loadCheckpoint of F16 and BF16 files holds each weight within its format's rounding (${name})`, async () => {
      for (const dtype of ['F16', 'BF16'] as const) {
        const { timm, bytes } = fileFor(config, 'timm', dtype, seed);
        const r = load({ safetensors: bytes });
        const back = await weightsToTimm(r.config, r.model.weights);
        let changed = 0;
        for (const [tensor, { data }] of timm) {
          const got = back.get(tensor)!.data;
          for (let i = 0; i < data.length; i++) {
            const err = Math.abs(got[i] - data[i]);
            if (err > roundingBound(dtype, data[i])) throw new Error(`${dtype} ${tensor}[${i}]: ${got[i]} vs ${data[i]}`);
            if (err > 0) changed++;
          }
        }
        expect(changed, `${dtype} rounds some values`).toBeGreaterThan(0);
        expect(r.notes.join(' ')).toContain(`Stored as ${dtype}`);
      }
    });

    it(`loadCheckpoint infers a config equal to the true one from the tensors alone (${name})`, () => {
      for (const layout of layouts) {
        const r = load({ safetensors: fileFor(config, layout, 'BF16', seed).bytes });
        expect(arch(r.config), layout).toEqual(arch(config));
        expect(r.config.id2label).toEqual(config.id2label);
        expect(r.notes.some((n) => n.startsWith(`Attention heads: ${config.num_attention_heads}, assumed from hidden size ${config.hidden_size}`))).toBe(true);
        expect(r.notes.some((n) => n.includes('LayerNorm epsilon'))).toBe(true);
        if (config.distilled) expect(r.notes.some((n) => n.startsWith('Distillation token found'))).toBe(true);
      }
    });
  }

  it('loadCheckpoint reads a Hugging Face config.json as given (eps, labels) and ignores the pooler', () => {
    const config = { ...PLAIN, layer_norm_eps: 1e-12, id2label: { 0: 'cat', 1: 'dog', 2: 'fox', 3: 'owl', 4: 'yak' } };
    const { bytes } = fileFor(config, 'hf-vit', 'F32', 3);
    const r = load({ safetensors: bytes, config: hfConfigJson(config, 'hf-vit') });
    expect(r.configSource).toBe('config.json');
    expect(r.config.layer_norm_eps).toBe(1e-12);
    expect(r.config.id2label[3]).toBe('owl');
    expect(r.notes.some((n) => n.includes('not used'))).toBe(false); // classifiers never read the pooler
  });

  it('loadCheckpoint names ImageNet classes for a 1,000-class head without names', () => {
    const config = { ...PLAIN, id2label: labels(1000) };
    const r = load({ safetensors: fileFor(config, 'timm', 'F16', 4).bytes, config: timmConfigJson('deit_test', 1000, 8) });
    expect(r.config.id2label[0]).toBe('tench, Tinca tinca');
    expect(r.config.id2label[999]).toBe('toilet tissue, toilet paper, bathroom tissue');
    expect(r.notes).toContain('Class names: ImageNet-1k (the checkpoint has 1,000 classes and names none).');
  });

  it('loadCheckpoint takes class names from a timm config.json that lists them', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const r = load({ safetensors: fileFor(PLAIN, 'timm', 'F32', 5).bytes, config: timmConfigJson('deit_test', 5, 8, { label_names: names }) });
    expect(Object.values(r.config.id2label)).toEqual(names);
  });

  it('loadCheckpoint takes preprocessing from timm pretrained_cfg, preprocessor_config.json, or notes the assumed defaults', () => {
    const { bytes } = fileFor(PLAIN, 'timm', 'F32', 6);
    const timm = load({ safetensors: bytes, config: timmConfigJson('deit_test', 5, 8) });
    expect(timm.preprocess.source).toMatch(/^timm pretrained_cfg/);
    expect(timm.preprocess.mean).toEqual([0.485, 0.456, 0.406]);
    const bare = load({ safetensors: bytes });
    expect(bare.preprocess.source).toMatch(/assumed/);
    expect(bare.notes.some((n) => n.startsWith('No preprocessing settings came with the checkpoint'))).toBe(true);
    const hf = load({
      safetensors: fileFor(PLAIN, 'hf-vit', 'F32', 6).bytes,
      preprocessor: { do_resize: true, size: 8, resample: 2, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] },
    });
    expect(hf.preprocess).toMatchObject({ source: 'preprocessor_config.json (Hugging Face image processor)', mean: [0.5, 0.5, 0.5], crop: null });
  });

  it('loadCheckpoint names the missing tensor', () => {
    for (const [layout, drop, named] of [
      ['timm', 'blocks.1.mlp.fc2.bias', 'blocks.1.mlp.fc2.bias'],
      ['hf-vit', 'vit.encoder.layer.0.layernorm_after.weight', 'blocks.0.norm2.weight'],
      ['timm', 'head.weight', 'head.weight'],
      ['timm', 'pos_embed', 'pos_embed'],
    ] as const) {
      const renamed = renameTo(randomTimmArrays(PLAIN, 7), layout);
      renamed.delete(drop);
      expect(() => loadCheckpoint({ safetensors: encodeCheckpoint(renamed, 'F32') }), drop).toThrowError(
        expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining(`'${named}'`) }),
      );
    }
    const hf = renameTo(randomTimmArrays(PLAIN, 7), 'hf-vit');
    hf.delete('vit.encoder.layer.1.attention.attention.key.bias');
    expect(() => loadCheckpoint({ safetensors: encodeCheckpoint(hf, 'F32') })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringMatching(/blocks\.1\.attn\.qkv\.bias.*missing key/) }),
    );
  });

  it('loadCheckpoint names a mis-shaped tensor', () => {
    const cases: [string, number[], RegExp][] = [
      ['blocks.1.mlp.fc1.weight', [97, 64], /blocks\.1\.mlp\.fc1\.weight.*\[97,64\]/],
      ['pos_embed', [1, 6, 64], /pos_embed.*6 positions/],
      ['patch_embed.proj.weight', [64, 3, 4, 2], /patch_embed\.proj\.weight/],
      ['blocks.0.attn.qkv.bias', [190], /blocks\.0\.attn\.qkv\.bias/],
    ];
    for (const [tensor, shape, message] of cases) {
      const timm = randomTimmArrays(PLAIN, 8);
      timm.set(tensor, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1) });
      expect(() => loadCheckpoint({ safetensors: encodeCheckpoint(timm, 'F32') }), tensor).toThrowError(
        expect.objectContaining({ code: 'shape-mismatch', message: expect.stringMatching(message) }),
      );
    }
    const hf = renameTo(randomTimmArrays(PLAIN, 8), 'hf-vit');
    hf.set('vit.encoder.layer.0.attention.attention.value.weight', { shape: [32, 64], data: new Float32Array(32 * 64) });
    expect(() => loadCheckpoint({ safetensors: encodeCheckpoint(hf, 'F32') })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringMatching(/query, key and value/) }),
    );
  });

  it('loadCheckpoint checks a config.json against the tensors and names the first tensor that disagrees', () => {
    const { bytes } = fileFor(PLAIN, 'hf-vit', 'F32', 9);
    expect(() => loadCheckpoint({ safetensors: bytes, config: hfConfigJson({ ...PLAIN, num_hidden_layers: 3 }, 'hf-vit') })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining("'blocks.2.norm1.weight'") }),
    );
    expect(() => loadCheckpoint({ safetensors: bytes, config: hfConfigJson({ ...PLAIN, intermediate_size: 128 }, 'hf-vit') })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining('blocks.0.mlp.fc1.weight') }),
    );
    expect(() => loadCheckpoint({ safetensors: bytes, config: [1, 2] })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining('config.json is not recognised') }),
    );
  });

  it('loadCheckpoint rejects huge counts in config.json or tensor names before sizing anything by them', () => {
    const { timm, bytes } = fileFor(PLAIN, 'hf-vit', 'F32', 9);
    const hf = hfConfigJson(PLAIN, 'hf-vit');
    const { id2label: _names, ...unnamed } = hf;
    const cases: [unknown, RegExp][] = [
      [{ ...hf, num_hidden_layers: 1e20 }, /'blocks\.2\.norm1\.weight'/],
      [{ ...unnamed, num_labels: 1e12 }, /num_labels 1000000000000 .*'head\.weight' has 5 rows/],
      [{ ...hf, num_channels: 1e9 }, /patch_embed\.proj\.weight/],
      [{ ...hf, image_size: 4e9, patch_size: 4 }, /pos_embed/],
    ];
    for (const [config, message] of cases) {
      expect(() => loadCheckpoint({ safetensors: bytes, config })).toThrowError(
        expect.objectContaining({ code: 'shape-mismatch', message: expect.stringMatching(message) }),
      );
    }
    timm.set('blocks.99999999999999999999.norm1.weight', { shape: [64], data: new Float32Array(64) });
    expect(() => loadCheckpoint({ safetensors: encodeCheckpoint(timm, 'F32') })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining("'blocks.2.norm1.weight'") }),
    );
  });

  it('loadCheckpoint refuses to guess heads when the hidden size is not a multiple of 64', () => {
    const config = { ...PLAIN, hidden_size: 48, num_attention_heads: 2 };
    const { bytes } = fileFor(config, 'timm', 'F32', 10);
    expect(() => loadCheckpoint({ safetensors: bytes })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining('num_attention_heads') }),
    );
    const r = load({ safetensors: bytes, config: hfConfigJson(config, 'hf-vit') });
    expect(r.config.num_attention_heads).toBe(2);
  });

  it('loadCheckpoint rejects a non-finite weight as a damaged file', () => {
    const timm = randomTimmArrays(PLAIN, 11);
    timm.get('blocks.0.attn.proj.weight')!.data[5] = Number.NaN;
    expect(() => loadCheckpoint({ safetensors: encodeCheckpoint(timm, 'F16') })).toThrowError(
      expect.objectContaining({ code: 'data-malformed', message: expect.stringContaining("'blocks.0.attn.proj.weight'") }),
    );
  });

  it('loadCheckpoint rejects bytes that are not a checkpoint with its reader code', () => {
    expect(() => loadCheckpoint({ safetensors: new Uint8Array([1, 2, 3]) })).toThrowError(expect.objectContaining({ code: 'safetensors-malformed' }));
    expect(() => loadCheckpoint({ safetensors: encodeCheckpoint(new Map([['x', { shape: [2], data: new Float32Array(2) }]]), 'F32') })).toThrowError(
      expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining('not a ViT/DeiT checkpoint') }),
    );
  });

  it('loadCheckpoint creates exactly the model tensors and disposeCheckpoint frees them', async () => {
    const { bytes } = fileFor(DISTILLED, 'hf-deit', 'F32', 12);
    const r = await expectNoLeak(() => loadCheckpoint({ safetensors: bytes }), { returned: 4 + 12 * 3 + 2 + 2 + 3 });
    expect(listWeights(r.model.weights)).toHaveLength(4 + 12 * 3 + 2 + 2 + 3);
    await expectNoLeak(() => disposeCheckpoint(r), { returned: -(4 + 12 * 3 + 2 + 2 + 3) });
  });
});

describe('readCheckpointFiles', () => {
  it('readCheckpointFiles picks the .safetensors, config.json and preprocessor_config.json by name', async () => {
    const { bytes } = fileFor(PLAIN, 'hf-vit', 'F32', 13);
    const json = (o: unknown, name: string) => new File([JSON.stringify(o)], name);
    const files = await readCheckpointFiles([
      json({ do_resize: true, size: 8 }, 'preprocessor_config.json'),
      new File([new Uint8Array(bytes)], 'model.safetensors'),
      json(hfConfigJson(PLAIN, 'hf-vit'), 'config.json'),
    ]);
    expect(files.safetensors).toEqual(bytes);
    expect((files.config as { hidden_size: number }).hidden_size).toBe(64);
    expect((files.preprocessor as { size: number }).size).toBe(8);
    const r = load(files);
    expect(r.configSource).toBe('config.json');
  });

  it('readCheckpointFiles asks for exactly one .safetensors file and rejects broken JSON', async () => {
    await expect(readCheckpointFiles([new File(['{}'], 'config.json')])).rejects.toMatchObject({ code: 'data-missing' });
    await expect(readCheckpointFiles([new File(['x'], 'a.safetensors'), new File(['x'], 'b.safetensors')])).rejects.toMatchObject({ code: 'data-missing' });
    await expect(readCheckpointFiles([new File(['x'], 'a.safetensors'), new File(['{oops'], 'config.json')])).rejects.toMatchObject({ code: 'data-malformed' });
  });
});
