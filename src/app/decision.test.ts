import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useBackend } from '../model/backend';
import { archConfig } from '../model/config';
import { runForward, type Trace } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import { allEdgesByDefault, blockDecision, blockTokens, tokenName } from './decision';
import { gridGeometry, layerViews } from './fates';

// A 2×2 grid (CLS + 4 patches). Block 0 merges patches 0 and 1 (rows 1, 2 → row 1) by ToMe;
// block 1 has no method; block 2 is top-k over the 3 tokens left, recorded with evidence.
const trace: Trace = {
  tokens: 5,
  layers: [
    { layer: 0, method: 'tome', nIn: 5, nOut: 4, target: [0, 1, 1, 2, 3], coeff: [1, 0.5, 0.5, 1, 1] },
    { layer: 1, method: null, nIn: 4, nOut: 4 },
    {
      layer: 2,
      method: 'topk',
      nIn: 4,
      nOut: 3,
      target: [0, 1, -1, 2],
      coeff: [1, 1, 0, 1],
      evidence: { method: 'topk', constants: { protectedCount: 1, left: 2, fuse: false }, fields: { clsAttnMean: [0.6, 0.1, 0.3], keptIdx: [0, 2] } },
    },
  ],
};
const geo = gridGeometry(trace, 2);
const views = layerViews(trace, geo);

describe('the why view’s tokens', () => {
  it('blockTokens maps each token entering a block to the patches it covers, and their centre', () => {
    expect(blockTokens(views, geo, 0, 5).patches).toEqual([[], [0], [1], [2], [3]]);
    const after = blockTokens(views, geo, 2, 4);
    expect(after.patches).toEqual([[], [0, 1], [2], [3]]);
    expect(after.centre).toEqual([null, [1, 0.5], [0.5, 1.5], [1.5, 1.5]]);
  });

  it('blockDecision says why a block without a method decided nothing, and reads a recorded one in rows', () => {
    expect(blockDecision(trace, views, geo, 1)).toEqual({ kind: 'none', reason: 'block 1 is not in the plan: no method decided anything here' });
    expect(blockDecision(trace, views, geo, 0)).toMatchObject({ kind: 'none', reason: expect.stringMatching(/did not record its evidence/) });
    const d = blockDecision(trace, views, geo, 2);
    if (d.kind !== 'evidence') throw new Error('expected evidence');
    expect(d.evidence.tokens.map((t) => [t.row, t.score, t.outcome])).toEqual([
      [0, null, 'kept'],
      [1, 0.6, 'kept'],
      [2, 0.1, 'dropped'],
      [3, 0.3, 'kept'],
    ]);
    expect(tokenName(d.tokens, 2, 1)(1)).toBe('the token of 2 patches from (0,0)');
    expect(tokenName(d.tokens, 2, 1)(2)).toBe('patch (1,0)');
  });
});

describe('the why view on a DeiT-Tiny grid (14×14 patches, 197 tokens)', () => {
  it('blockDecision covers every patch once per block and thins ToMe’s edges to the r taken by default', async () => {
    await useBackend('wasm');
    const config = archConfig('deit-t');
    const model = { config, weights: randomWeights(config, 1) };
    const pixels = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const { logits, traces } = await runForward(model, pixels, compilePlan(planFromText('tome:r=13', 12), config), { record: 'evidence' });
    tf.dispose([logits, pixels, ...listWeights(model.weights)]);
    const geo196 = gridGeometry(traces[0], 14);
    const deitViews = layerViews(traces[0], geo196);
    for (const layer of [0, 5, 11]) {
      const d = blockDecision(traces[0], deitViews, geo196, layer);
      if (d.kind !== 'evidence') throw new Error(`block ${layer}: ${d.reason}`);
      const n = 197 - 13 * layer;
      expect(d.evidence.tokens).toHaveLength(n);
      // every patch is covered by exactly one token entering the block
      expect(d.tokens.patches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 196 }, (_, p) => p));
      // A tokens (even rows but CLS) have a score, B tokens none
      expect(d.evidence.tokens.filter((t) => t.score !== null).length).toBe(Math.ceil(n / 2) - 1);
      expect(d.evidence.edges.filter((e) => e.chosen)).toHaveLength(13);
    }
    expect(allEdgesByDefault(197)).toBe(false);
    expect(allEdgesByDefault(50)).toBe(true);
  }, 60_000);
});
