import { describe, expect, it } from 'vitest';
import type { Trace } from '../model/run';
import { blockDecision, blockTokens, tokenName } from './decision';
import { gridGeometry, layerViews } from './fates';

// A 2×2 grid (CLS + 4 patches). Block 0 merges patches 0 and 1 (rows 1, 2 → row 1) by ToMe;
// block 1 has no method; block 2 is top-k over the 3 tokens left, recorded with evidence.
const trace: Trace = {
  tokens: 5,
  layers: [
    { layer: 0, method: 'tome', nIn: 5, nOut: 4, target: [0, 1, 1, 2, 3], coeff: [1, 0.5, 0.5, 1, 1] },
    { layer: 1, method: null, nIn: 4, nOut: 4 },
    {
      layer: 2, method: 'topk', nIn: 4, nOut: 3, target: [0, 1, -1, 2], coeff: [1, 1, 0, 1],
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
    expect(d.evidence.tokens.map((t) => [t.row, t.score, t.outcome])).toEqual([[0, null, 'kept'], [1, 0.6, 'kept'], [2, 0.1, 'dropped'], [3, 0.3, 'kept']]);
    expect(tokenName(d.tokens, 2, 1)(1)).toBe('the token of 2 patches from (0,0)');
    expect(tokenName(d.tokens, 2, 1)(2)).toBe('patch (1,0)');
  });
});
