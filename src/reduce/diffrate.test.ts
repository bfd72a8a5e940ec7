import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { archConfig } from '../model/config';
import { runForward } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { applyAssignment, disposeAssignment } from '../tokens/assignment';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';
import { compilePlan, predictTokens } from './compile';
import { diffrateDecide } from './diffrate';
import { evidenceSentence, layerEvidence } from './evidence';
import { diffrateKeptNumbers } from './diffrate-schedules';
import { parsePlan, planFromText } from './plan';
import { TINY_VIT } from '../../tests/helpers/tiny-vit';

useWasmBackend();

const small = TINY_VIT;

describe('DiffRate decision (docs/METHODS.md#diffrate worked example)', () => {
  it('orders by head-mean CLS attention, prunes the tail, merges the band into its most similar kept token with a plain mean', async () => {
    await expectNoLeak(() => {
      // tokens 0..5; a = [.1, .3, .2, .05, .15] for tokens 1..5 -> order 2, 3, 5, 1, 4
      const x = tf.tensor3d([
        [
          [5, 5],
          [0.1, 1],
          [1, 0],
          [0, 1],
          [9, -9],
          [1, 0.1],
        ],
      ]);
      const clsAttn = tf.tensor3d([[[0, 0.1, 0.3, 0.2, 0.05, 0.15]]]);
      const d = diffrateDecide(x, clsAttn, { pruneKept: 5, mergeKept: 3 });
      expect(d.idx.arraySync()).toEqual([[0, 2, 3, 5, 1, 4]]);
      // destinations are sorted positions 0..2 (tokens 0, 2, 3); token 5 joins token 2, token 1 joins token 3; token 4 is pruned
      expect(d.assignment.target.arraySync()).toEqual([[0, 2, 1, 2, -1, 1]]);
      expect(d.dstIdx!.arraySync()).toEqual([[1, 2]]);
      const out = tf.tidy(() => applyAssignment(d.assignment, x).arraySync()[0]);
      expect(out[0]).toEqual([5, 5]);
      expect(out[1][0]).toBeCloseTo(1, 6);
      expect(out[1][1]).toBeCloseTo(0.05, 6);
      expect(out[2][0]).toBeCloseTo(0.05, 6);
      // sizes: 1 + the source's size times its best cosine
      const sizes = tf.tidy(() => applyAssignment({ ...d.assignment, coeff: d.sizeCoeff }, tf.ones([1, 6, 1]) as tf.Tensor3D).arraySync()[0]);
      expect(sizes[1][0]).toBeCloseTo(1 + 1 / Math.sqrt(1.01), 5);
      expect(sizes[2][0]).toBeCloseTo(1 + 1 / Math.sqrt(1.01), 5);
      disposeAssignment(d.assignment);
      tf.dispose([x, clsAttn, d.idx, d.clsAttnMean, d.dstIdx!, d.nodeMax!, d.sizeCoeff]);
    });
  });
});

describe('DiffRate schedules in the plan', () => {
  it('derives kept numbers for another depth and token count from DeiT-S 2.9 (hand-computed)', () => {
    // blocks 0..3 read template blocks 0, 4, 7, 11; kept = max(2, 1 + round((kept - 1)·16/196))
    expect(diffrateKeptNumbers(0, { depth: 4, tokens: 17, hidden: 16 })).toMatchObject({ prune: [17, 13, 10, 2], merge: [17, 12, 10, 2], derived: true });
    expect(predictTokens(compilePlan(planFromText('diffrate', 4), small), 17)).toEqual([17, 17, 12, 10, 2]);
  });

  it('refuses a target that DiffRate never published, naming the published ones', () => {
    const parsed = parsePlan('diffrate:target_flops=2.8', 12);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.message).toMatch(/'target_flops=2.8' in 'diffrate:target_flops=2.8'.*DeiT-T \(0.6, 0.7, 0.8, 0.9, 1\).*DeiT-S \(2.3/);
  });

  it("refuses a published schedule on a model of another width, naming that model's own targets", () => {
    expect(() => compilePlan(planFromText('diffrate:target_flops=2.9', 12), archConfig('deit-t'))).toThrow(
      /ViT-S-DeiT schedule \(width 384\).*192 wide; its published targets are 0.6, 0.7, 0.8, 0.9, 1.0/,
    );
    expect(() => compilePlan(planFromText('diffrate:target_flops=0.9', 12), archConfig('vit-b'))).toThrow(
      /publishes no schedule for this width: use target_flops=0/,
    );
  });

  it('refuses a distilled model: the official block would sort, prune and merge the distillation token', () => {
    expect(() => compilePlan(planFromText('diffrate', 12), { ...archConfig('deit-s'), distilled: true })).toThrow(
      /diffrate cannot run on a model with a distillation token/,
    );
  });
});

describe('DiffRate in the engine', () => {
  it('runs alone and after EViT in a mixed plan with the predicted token counts, proportional attention on, nothing leaked', async () => {
    const model = { config: small, weights: randomWeights(small, 3) };
    const pixels = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (const text of ['diffrate', 'evit:keep=0.5,layers=1+diffrate:layers=2-3']) {
      const plan = compilePlan(planFromText(text, 4), small);
      expect(plan.propAttn).toBe(true);
      const { logits, traces } = await runForward(model, pixels, plan, { record: 'evidence' });
      const predicted = predictTokens(plan, 17)!;
      for (const t of traces) expect([...t.layers.map((l) => l.nIn), t.layers[3].nOut]).toEqual(predicted);
      expect(Array.from(await logits.data()).every(Number.isFinite)).toBe(true);
      if (text === 'diffrate') {
        // block 1 of the derived schedule: P = 13, M = 12 of 17 tokens -> 4 pruned, 1 merged along its best-cosine edge
        const ev = layerEvidence(traces[0].layers[1])!;
        expect(ev.tokens.filter((t) => t.outcome === 'dropped')).toHaveLength(4);
        expect(ev.edges).toHaveLength(1);
        expect(
          ev.tokens
            .filter((t) => t.rank !== null)
            .map((t) => t.rank)
            .sort((a, b) => a! - b!),
        ).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
        expect(evidenceSentence(ev, ev.edges[0].from, (r) => `row ${r}`)).toMatch(
          /^row \d+: CLS attention .*, 1[0-9]th of 16: beyond the 12 kept, merged into row \d+ \(cosine /,
        );
      }
      logits.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([pixels, ...listWeights(model.weights)]);
  });
});
