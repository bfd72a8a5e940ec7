import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from '../../tests/helpers/tf';
import type { VitConfig } from '../model/config';
import { runForward, type Model } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { compilePlan, predictTokens } from './compile';
import { groupSizes, tokenFates, tokenOwners } from './lineage';
import { planFromText } from './plan';

useWasmBackend();

// A small 8-block ViT over a 7×7 patch grid (50 tokens), like the bundled model's shape.
const config: VitConfig = {
  hidden_size: 32,
  num_hidden_layers: 8,
  num_attention_heads: 2,
  intermediate_size: 64,
  image_size: 28,
  patch_size: 4,
  num_channels: 1,
  layer_norm_eps: 1e-6,
  id2label: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), `c${i}`])),
};

const PLANS: Record<string, 'merge' | 'prune' | 'sample'> = {
  'tome:r=4': 'merge',
  'tome:r=8,inflect=-1': 'merge',
  'pitome:ratio=0.8': 'merge',
  'mctf:r=4': 'merge',
  'evit:keep=0.6': 'prune',
  'topk:keep=0.6': 'prune',
  ats: 'sample',
  'evit:keep=0.7,layers=2+tome:r=3,layers=3-7': 'prune',
};

let model: Model;
let pixels: tf.Tensor4D;

beforeAll(() => {
  model = { config, weights: randomWeights(config, 11) };
  pixels = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
});

afterAll(() => {
  tf.dispose([pixels, ...listWeights(model.weights)]);
});

async function trace(plan: string) {
  const compiled = compilePlan(planFromText(plan, 8), config);
  const result = await runForward(model, pixels, compiled, { record: 'fates' });
  result.logits.dispose();
  return { compiled, traces: result.traces };
}

describe('every method, through the whole engine', () => {
  for (const [plan, kind] of Object.entries(PLANS)) {
    it(`'${plan}' keeps CLS at row 0 and gives every original token at most one owner`, async () => {
      const { traces } = await trace(plan);
      for (const t of traces) {
        const owners = tokenOwners(t);
        owners.forEach((rows, l) => {
          expect(rows[0], `CLS at layer ${l}`).toBe(0);
          const sizes = groupSizes(rows, t.layers[l].nOut);
          // rows are a partition of the surviving original tokens; every output row holds >= 1
          // (ATS and EViT never create empty rows at batch 1 per image)
          expect(
            sizes.every((s) => s >= 1),
            `no empty output row at layer ${l}`,
          ).toBe(true);
          if (kind === 'merge')
            expect(
              sizes.reduce((a, b) => a + b, 0),
              `patches at layer ${l}`,
            ).toBe(50);
        });
      }
    });
  }

  for (const plan of Object.keys(PLANS).filter((p) => !p.startsWith('ats'))) {
    it(`'${plan}' produces the token counts its schedule predicts`, async () => {
      const { compiled, traces } = await trace(plan);
      const predicted = predictTokens(compiled, 50);
      for (const t of traces) expect([...t.layers.map((l) => l.nIn), t.layers[7].nOut]).toEqual(predicted);
    });
  }

  it('ATS keeps a count of its own on each image and at most N - 1 per ATS layer at batch 1', async () => {
    const { traces } = await trace('ats');
    for (const t of traces) {
      for (const l of t.layers.slice(2)) expect(l.nOut).toBeLessThanOrEqual(l.nIn - 1);
      for (const l of t.layers.slice(0, 2)) expect(l.nOut).toBe(l.nIn);
    }
  });

  it('merging methods report merged fates and EViT its fused token, pruning reports dropped', async () => {
    const tome = tokenFates((await trace('tome:r=4')).traces[0]);
    expect(tome[7].filter((f) => f === 'merged').length).toBeGreaterThan(0);
    expect(tome[7].includes('dropped')).toBe(false);
    const evit = tokenFates((await trace('evit:keep=0.6')).traces[0]);
    expect(evit[2].filter((f) => f === 'fused').length).toBe(49 - Math.ceil(0.6 * 49));
    const topk = tokenFates((await trace('topk:keep=0.6')).traces[0]);
    expect(topk[2].filter((f) => f === 'dropped').length).toBe(49 - Math.ceil(0.6 * 49));
  });

  it('ToMe clamps an oversized r to half the unprotected tokens, as the official code', async () => {
    // 50 tokens, r = 100: r_eff = (50 - 1) // 2 = 24 -> 26, then 12 -> 14, 6 -> 8, 3 -> 5, 2 -> 3, 1 -> 2, 0 ...
    const { traces } = await trace('tome:r=100');
    expect([...traces[0].layers.map((l) => l.nIn), traces[0].layers[7].nOut]).toEqual([50, 26, 14, 8, 5, 3, 2, 2, 2]);
  });

  it('runForward does not leak tensors over 50 forwards of every method', async () => {
    const compiled = Object.keys(PLANS).map((p) => compilePlan(planFromText(p, 8), config));
    const one = tf.slice(pixels, [0, 0, 0, 0], [1, -1, -1, -1]);
    // warm-up (kernels may cache constants on first use)
    for (const c of compiled) (await runForward(model, one, c, { record: 'fates' })).logits.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) {
      const c = compiled[i % compiled.length];
      (await runForward(model, one, c, { record: i % 2 ? 'fates' : 'none' })).logits.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    one.dispose();
  });

  it('batched and one-image forwards give the same logits and counts for fixed-schedule methods', async () => {
    for (const plan of ['tome:r=4', 'pitome:ratio=0.8', 'mctf:r=4', 'evit:keep=0.6']) {
      const compiled = compilePlan(planFromText(plan, 8), config);
      const batched = await runForward(model, pixels, compiled);
      const all = (await batched.logits.array()) as number[][];
      batched.logits.dispose();
      for (let i = 0; i < 3; i++) {
        const one = tf.slice(pixels, [i, 0, 0, 0], [1, -1, -1, -1]);
        const single = await runForward(model, one, compiled);
        const row = ((await single.logits.array()) as number[][])[0];
        row.forEach((v, j) => expect(v, `${plan} image ${i}`).toBeCloseTo(all[i][j], 4));
        tf.dispose([one, single.logits]);
      }
    }
  });
});

describe('ATS down to two tokens', () => {
  it('runs through layers with N <= 2 tokens without losing its count between the two decision steps', async () => {
    // 2×2 patches + CLS = 5 tokens; each ATS layer drops at least one (at N = 3 the official dedup
    // keeps only CLS), so the later layers take the N <= 2 branch, which once freed its count
    // tensor before the engine read it ("Tensor is disposed" on the full test set).
    const tiny: VitConfig = { ...config, image_size: 8, patch_size: 4, num_hidden_layers: 6 };
    const m: Model = { config: tiny, weights: randomWeights(tiny, 3) };
    const px = tf.randomNormal([1, 8, 8, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
    const compiled = compilePlan(planFromText('ats:layers=0-5', 6), tiny);
    const before = tf.memory().numTensors;
    const { logits, traces } = await runForward(m, px, compiled, { record: 'fates' });
    const counts = [...traces[0].layers.map((l) => l.nIn), traces[0].layers[5].nOut];
    expect(counts[0]).toBe(5);
    expect(counts.slice(-1)[0]).toBeLessThanOrEqual(2);
    expect(counts.every((c, i) => i === 0 || c <= counts[i - 1])).toBe(true);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([px, ...listWeights(m.weights)]);
  });
});
