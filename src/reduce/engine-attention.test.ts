import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { compilePlan } from './compile';
import { planFromText } from './plan';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';
import type { VitConfig } from '../model/config';
import { ATS_SOFTMAX_EPS, atsMaskedSoftmax } from './ats';
import { attentionByHead, attentionRunsByHead } from '../model/ops';
import { withDevicePaths } from '../tokens/kernel-paths';
import { runForward } from '../model/run';
import { addHeadLayout, addQkvSplit, listWeights, randomWeights } from '../model/weights';

useWasmBackend();

const config: VitConfig = {
  hidden_size: 32,
  num_hidden_layers: 4,
  num_attention_heads: 2,
  intermediate_size: 64,
  image_size: 24,
  patch_size: 4,
  num_channels: 3,
  layer_norm_eps: 1e-6,
  id2label: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [String(i), `c${i}`])),
};

describe('attention by head (the wasm fast path)', () => {
  it('attentionRunsByHead picks the per-head path on the CPU backends only', () => {
    expect(attentionRunsByHead()).toBe(true);
    expect(withDevicePaths(() => attentionRunsByHead())).toBe(false);
  });

  it("runForward gives the batched attention's counts and logits with the per-head layout, for every kind of hook, one image and two", async () => {
    const plain = randomWeights(config, 4);
    const split = randomWeights(config, 4);
    addHeadLayout(config, split);
    const pixels = tf.randomNormal([2, 24, 24, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    // none; ToMe with proportional attention (keysMean, log size); EViT (clsAttn); ATS (softmax eps,
    // values); MCTF (full probs, attention handed on); PiToMe
    for (const text of ['none', 'tome:r=4', 'evit:keep=0.6', 'ats:layers=1-3', 'mctf:r=4', 'pitome:ratio=0.8']) {
      const plan = compilePlan(planFromText(text, 4), config);
      const a = await runForward({ config, weights: plain }, pixels, plan);
      const b = await runForward({ config, weights: split }, pixels, plan);
      expect(
        b.traces.map((t) => t.layers.map((l) => l.nOut)),
        text,
      ).toEqual(a.traces.map((t) => t.layers.map((l) => l.nOut)));
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a.logits, b.logits))).dataSync()[0]);
      expect(diff, text).toBeLessThan(1e-5);
      tf.dispose([a.logits, b.logits]);
    }
    tf.dispose([pixels, ...listWeights(plain), ...listWeights(split)]);
  });

  it("runForward gives the full qkv projection's counts and logits with the q|k, v split (the GPU backends' layout), MCTF's steps and the rest", async () => {
    const plain = randomWeights(config, 5);
    const split = randomWeights(config, 5);
    addQkvSplit(split); // no per-head layout: the batched path, as on WebGL and WebGPU
    const pixels = tf.randomNormal([2, 24, 24, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    for (const text of ['none', 'mctf:r=4', 'mctf:r=3,pool=0,prop=0', 'mctf:r=4,layers=1-2+tome:r=2,layers=3']) {
      const plan = compilePlan(planFromText(text, 4), config);
      const a = await runForward({ config, weights: plain }, pixels, plan);
      const b = await runForward({ config, weights: split }, pixels, plan);
      expect(
        b.traces.map((t) => t.layers.map((l) => l.nOut)),
        text,
      ).toEqual(a.traces.map((t) => t.layers.map((l) => l.nOut)));
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a.logits, b.logits))).dataSync()[0]);
      expect(diff, text).toBeLessThan(1e-5);
      tf.dispose([a.logits, b.logits]);
    }
    tf.dispose([pixels, ...listWeights(plain), ...listWeights(split)]);
  });

  it('addQkvSplit adds tensors that listWeights then frees, and leaves trainable weights alone', async () => {
    const w = randomWeights(config, 1);
    const before = listWeights(w).length;
    await expectNoLeak(() => addQkvSplit(w), { returned: 4 * 4 });
    expect(listWeights(w).length).toBe(before + 4 * 4);
    addQkvSplit(w); // idempotent
    expect(listWeights(w).length).toBe(before + 4 * 4);
    expect(w.blocks[0].qkvSplit!.qkW.shape).toEqual([32, 64]);
    expect(w.blocks[0].qkvSplit!.vW.shape).toEqual([32, 32]);
    tf.dispose(listWeights(w));
    const trainable = randomWeights(config, 1);
    const plainQkv = trainable.blocks[0].qkvW;
    trainable.blocks[0].qkvW = tf.variable(plainQkv);
    addQkvSplit(trainable);
    expect(trainable.blocks[0].qkvSplit).toBeUndefined();
    expect(trainable.blocks[1].qkvSplit).toBeDefined();
    tf.dispose([plainQkv, ...listWeights(trainable)]);
  });

  it("the block's P·v (plain softmax) stays within 2·eps·max|v| of ATS's masked softmax, which ATS applies only to the row it decides by", () => {
    const w = randomWeights(config, 2);
    addHeadLayout(config, w);
    const layout = w.blocks[1].heads!;
    const h = tf.randomNormal([37, 32], 0, 6, 'float32', 5) as tf.Tensor2D; // peaked attention: P·v far from the mean value
    // eps large enough that its terms stand far above float32 rounding, so the bound is visible
    for (const eps of [1e-2, ATS_SOFTMAX_EPS]) {
      const [outDiff, bound] = tf.tidy(() => {
        const got = attentionByHead(h, layout);
        const exact = layout.q.map((q, i) => {
          const logits = tf.matMul(tf.add(tf.matMul(h, q), layout.qB[i]), tf.add(tf.matMul(layout.kT[i], tf.transpose(h)), layout.kTB[i]));
          const v = tf.add(tf.matMul(h, layout.v[i]), layout.vB[i]) as tf.Tensor2D;
          const p = tf.squeeze(atsMaskedSoftmax(tf.reshape(logits, [1, 1, 37, 37]) as tf.Tensor4D, null, eps), [0, 1]) as tf.Tensor2D;
          return { out: tf.matMul(p, v), vMax: tf.max(tf.abs(v)) };
        });
        const out = tf.concat(
          exact.map((e) => e.out),
          1,
        );
        const vMax = tf.max(tf.stack(exact.map((e) => e.vMax)));
        return [tf.max(tf.abs(tf.sub(got.out, out))).dataSync()[0], tf.mul(vMax, 2 * eps).dataSync()[0]];
      });
      expect(outDiff, `eps ${eps}`).toBeLessThanOrEqual(bound + 1e-6);
      if (eps === 1e-2) expect(outDiff).toBeGreaterThan(1e-5); // far above rounding: the terms really are left out of P·v
    }
    tf.dispose([h, ...listWeights(w)]);
  });

  it('addHeadLayout adds tensors that listWeights then frees, and leaves trainable weights alone', async () => {
    const w = randomWeights(config, 1);
    const before = listWeights(w).length;
    await expectNoLeak(() => addHeadLayout(config, w), { returned: 4 * 2 * 6 });
    expect(listWeights(w).length).toBe(before + 4 * 2 * 6);
    addHeadLayout(config, w); // idempotent
    expect(listWeights(w).length).toBe(before + 4 * 2 * 6);
    tf.dispose(listWeights(w));
    const trainable = randomWeights(config, 1);
    const plainQkv = trainable.blocks[0].qkvW;
    trainable.blocks[0].qkvW = tf.variable(plainQkv);
    addHeadLayout(config, trainable);
    expect(trainable.blocks[0].heads).toBeUndefined();
    expect(trainable.blocks[1].heads).toBeDefined();
    tf.dispose([plainQkv, ...listWeights(trainable)]);
  });
});
