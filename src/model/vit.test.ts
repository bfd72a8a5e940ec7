import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { referenceForward } from '../../tests/helpers/reference-vit';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';
import type { VitConfig } from './config';
import { forwardTensors } from './vit';
import { listWeights, randomWeights, weightsFromTimm, weightsToTimm } from './weights';

useWasmBackend();

function tinyConfig(distilled: boolean): VitConfig {
  return {
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 16,
    image_size: 8,
    patch_size: 4,
    num_channels: 3,
    layer_norm_eps: 1e-6,
    id2label: { 0: 'a', 1: 'b', 2: 'c' },
    distilled,
  };
}

function randomPixels(config: VitConfig, seed: number): number[][][] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: config.image_size }, () => Array.from({ length: config.image_size }, () => Array.from({ length: config.num_channels }, rnd)));
}

describe('ViT forward', () => {
  for (const distilled of [false, true]) {
    it(`forwardTensors matches an independent float64 forward (distilled=${distilled})`, async () => {
      const config = tinyConfig(distilled);
      const w = randomWeights(config, 3);
      // LN and biases at their init values would hide mistakes: perturb every tensor.
      const perturbed = listWeights(w).map((t, i) => tf.add(t, tf.randomNormal(t.shape, 0, 0.3, 'float32', 100 + i)));
      tf.dispose(listWeights(w));
      const named = await weightsToTimm(config, { ...rebuild(w, perturbed) });
      const model = weightsFromTimm(config, named);
      tf.dispose(perturbed);
      const img = randomPixels(config, 7);
      const expected = referenceForward(config, named, img);
      const pixels = tf.tensor4d([img]);
      const out = forwardTensors(config, model, pixels, { hooks: [null, null], propAttn: false, keepAssignments: false });
      const got = Array.from(await out.logits.data());
      expect(got.length).toBe(3);
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
      tf.dispose([pixels, out.logits, ...listWeights(model)]);
    });
  }

  it('forwardTensors frees everything but the logits', async () => {
    const config = tinyConfig(false);
    const w = randomWeights(config, 1);
    const pixels = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    const out = await expectNoLeak(() => forwardTensors(config, w, pixels, { hooks: [null, null], propAttn: true, keepAssignments: true }), { returned: 1 });
    expect(out.logits.shape).toEqual([2, 3]);
    expect(out.blocks.map((b) => [b.nIn, b.nOut])).toEqual([
      [5, 5],
      [5, 5],
    ]);
    tf.dispose([pixels, out.logits, ...listWeights(w)]);
  });
});

/** Puts perturbed tensors back into the weight structure, in listWeights order. */
function rebuild(w: ReturnType<typeof randomWeights>, t: tf.Tensor[]) {
  let i = 0;
  const n = <T extends tf.Tensor>() => t[i++] as T;
  const ln = () => ({ gamma: n<tf.Tensor1D>(), beta: n<tf.Tensor1D>() });
  const out = {
    patchW: n<tf.Tensor2D>(),
    patchB: n<tf.Tensor1D>(),
    clsToken: n<tf.Tensor2D>(),
    posEmbed: n<tf.Tensor2D>(),
    blocks: w.blocks.map(() => ({
      norm1: ln(),
      qkvW: n<tf.Tensor2D>(),
      qkvB: n<tf.Tensor1D>(),
      projW: n<tf.Tensor2D>(),
      projB: n<tf.Tensor1D>(),
      norm2: ln(),
      fc1W: n<tf.Tensor2D>(),
      fc1B: n<tf.Tensor1D>(),
      fc2W: n<tf.Tensor2D>(),
      fc2B: n<tf.Tensor1D>(),
    })),
    norm: ln(),
    headW: n<tf.Tensor2D>(),
    headB: n<tf.Tensor1D>(),
  } as ReturnType<typeof randomWeights>;
  if (w.distToken) {
    out.distToken = n<tf.Tensor2D>();
    out.headDistW = n<tf.Tensor2D>();
    out.headDistB = n<tf.Tensor1D>();
  }
  return out;
}
