import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { archConfig } from '../model/config';
import { runForward } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { scheduledFlops } from '../measure/plan-flops';
import { useWasmBackend } from '../../tests/helpers/tf';
import { compilePlan, predictTokens } from './compile';
import { parsePlan, planFromText } from './plan';
import { pptScores } from './ppt';
import { evidenceSentence, layerEvidence } from './evidence';
import { TINY_VIT } from '../../tests/helpers/tiny-vit';

useWasmBackend();

describe('PPT (docs/METHODS.md#ppt)', () => {
  it('scores: head-summed CLS attention times value norm, normalised over the patches, CLS 2; unbiased variance', () => {
    const [scores, sOp] = tf.tidy(() => {
      // two heads: summed attention to tokens 1..3 = 0.2, 0.4, 0.2; value norms 1, 1, 2 -> w = .2, .4, .4 -> s = .2, .4, .4
      const cls = tf.tensor3d([
        [
          [0.5, 0.1, 0.2, 0.1],
          [0.3, 0.1, 0.2, 0.1],
        ],
      ]);
      const r = pptScores(cls, tf.tensor2d([[9, 1, 1, 2]]));
      return [r.scores.arraySync()[0], r.sOp.arraySync()[0]];
    });
    expect(scores.map((v) => Number(v.toFixed(6)))).toEqual([2, 0.2, 0.4, 0.4]);
    // mean 1/3; squared deviations (1/75)·(4 + 1 + 1)·... = ((−2/15)² + 2·(1/15)²) / (3 − 1) = 0.01333…
    expect(sOp).toBeCloseTo(((2 / 15) ** 2 + 2 * (1 / 15) ** 2) / 2, 6);
  });

  it('r = 50 at blocks 3/6/9 enters with 197×4, 147×3, 97×3, 49×2 and costs DeiT-S 2.9470, DeiT-T 0.8014 GFLOPs (backbone)', () => {
    for (const [arch, expected] of [
      ['deit-s', 2.947],
      ['deit-t', 0.8014],
    ] as const) {
      const config = archConfig(arch);
      const r = scheduledFlops(config, compilePlan(planFromText('ppt', 12), config))!;
      expect(r.counts).toEqual([197, 197, 197, 197, 147, 147, 147, 97, 97, 97, 49, 49, 49]);
      expect(Math.abs(r.report.model / 1e9 - expected)).toBeLessThanOrEqual(0.00006);
    }
  });

  it('refuses a negative threshold, a fractional r and a distilled model', () => {
    const neg = parsePlan('ppt:threshold=-1', 12);
    expect(neg.ok).toBe(false);
    if (!neg.ok) expect(neg.error.message).toMatch(/'threshold=-1' in 'ppt:threshold=-1': threshold must be a number in \[0, 1\]/);
    const frac = parsePlan('ppt:r=2.5', 12);
    expect(frac.ok).toBe(false);
    expect(() => compilePlan(planFromText('ppt', 12), { ...archConfig('deit-s'), distilled: true })).toThrow(/ppt cannot run on a model with a distillation token/);
  });

  it('runs pooled (τ = 1), pruned (τ = 0) and after ATC with the predicted counts and frees every tensor', async () => {
    const small = TINY_VIT;
    const model = { config: small, weights: randomWeights(small, 11) };
    const pixels = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 12) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (const text of ['ppt:r=3,threshold=1', 'ppt:r=3,threshold=0', 'atc:keep=0.8,layers=0+ppt:r=2,layers=1-3']) {
      const plan = compilePlan(planFromText(text, 4), small);
      const { logits, traces } = await runForward(model, pixels, plan, { record: 'evidence' });
      const predicted = predictTokens(plan, 17)!;
      for (const t of traces) expect([...t.layers.map((l) => l.nIn), t.layers[3].nOut]).toEqual(predicted);
      if (text.endsWith('threshold=0')) {
        // pruning only: every layer drops tokens outright
        expect(traces[0].layers[1].target!.filter((v) => v < 0)).toHaveLength(3);
      }
      if (text.endsWith('threshold=1')) {
        expect(traces[0].layers[1].target!.every((v) => v >= 0)).toBe(true);
        const ev = layerEvidence(traces[0].layers[1])!;
        expect(evidenceSentence(ev, 1, (r) => `row ${r}`)).toMatch(
          /^row 1: significance .*, \d+\w\w of 16; this image is pooled \(S_op .* < τ 1\), 3 tokens go: (kept|merged)\.$/,
        );
      }
      logits.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([pixels, ...listWeights(model.weights)]);
  });
});
