import { describe, expect, it } from 'vitest';
import type { Trace } from '../model/run';
import { colourGroups, describeLineage, gridGeometry, layerViews, lineageOf } from './fates';
import { FATE_COLOUR, GROUP_COLOURS, OKABE_ITO } from './palette';

// CLS + a 2×2 patch grid (tokens 1..4), worked by hand:
//   block 0 ToMe merges tokens 1 and 2; block 1 does nothing; block 2 EViT fuses rows 2 and 3 into
//   its summary row 2; block 3 ATS drops row 1 (tokens 1 and 2) and keeps CLS and the summary.
const trace: Trace = {
  tokens: 5,
  layers: [
    { layer: 0, method: 'tome', nIn: 5, nOut: 4, target: [0, 1, 1, 2, 3], coeff: [1, 1, 1, 1, 1] },
    { layer: 1, method: null, nIn: 4, nOut: 4 },
    { layer: 2, method: 'evit', nIn: 4, nOut: 3, target: [0, 1, 2, 2], coeff: [1, 1, 0.5, 0.5], fusedRow: 2 },
    { layer: 3, method: 'ats', nIn: 3, nOut: 2, target: [0, -1, 1], coeff: [1, 0, 1] },
  ],
};
const geo = gridGeometry(trace, 2);

describe('layerViews', () => {
  it('layerViews gives each original token its fate after every block', () => {
    expect(layerViews(trace, geo).map((v) => v.fate)).toEqual([
      ['kept', 'merged', 'merged', 'kept', 'kept'],
      ['kept', 'merged', 'merged', 'kept', 'kept'],
      ['kept', 'merged', 'merged', 'fused', 'fused'],
      ['sampled', 'dropped', 'dropped', 'fused', 'fused'],
    ]);
  });

  it('layerViews colours merged groups only, and keeps a colour across layers', () => {
    const views = layerViews(trace, geo);
    const c = views[0].groupColour;
    expect(c[0]).toBe(-1);
    expect(c[1]).toBeGreaterThanOrEqual(0);
    expect(c[2]).toBe(c[1]);
    expect(views[1].groupColour[1]).toBe(c[1]);
    expect(views[2].groupColour[3]).toBe(-1); // fused, not merged
  });

  it('gridGeometry puts the first patch after the class token', () => {
    expect(geo).toEqual({ grid: 2, firstPatch: 1 });
  });
});

describe('colourGroups', () => {
  it('colourGroups gives touching groups different colours', () => {
    // 3×3 grid: left column one group, middle column another, right column a third
    const owner = [0, 1, 2, 3, 1, 2, 3, 1, 2, 3];
    const fate = owner.map((_, t) => (t === 0 ? 'kept' : 'merged')) as ('kept' | 'merged')[];
    const colour = colourGroups(owner, fate, { grid: 3, firstPatch: 1 });
    expect(colour[1]).not.toBe(colour[2]);
    expect(colour[2]).not.toBe(colour[3]);
    expect(colour.slice(1).every((c) => c >= 0 && c < GROUP_COLOURS.length)).toBe(true);
  });

  it('colourGroups keeps the previous colour of a group unless a neighbour already took it', () => {
    const owner = [0, 1, 1, 2, 2];
    const fate = ['kept', 'merged', 'merged', 'merged', 'merged'] as const;
    const colour = colourGroups(owner, [...fate], { grid: 2, firstPatch: 1 }, [-1, 5, 5, 5, 5]);
    expect(colour[1]).toBe(5);
    expect(colour[3]).not.toBe(5);
  });
});

describe('lineageOf', () => {
  it('lineageOf lists the companions at each block and where the token is dropped', () => {
    const lin = lineageOf(layerViews(trace, geo), 1);
    expect(lin.steps.map((s) => s.members)).toEqual([[1, 2], [1, 2], [1, 2], []]);
    expect(lin.droppedAt).toBe(3);
  });

  it('describeLineage says in words what happened, one phrase per run of blocks', () => {
    expect(describeLineage(lineageOf(layerViews(trace, geo), 4), geo)).toBe(
      'Patch row 2, column 2: blocks 0–1: its own token; blocks 2–3: fused into the summary token (with 1 other).',
    );
    expect(describeLineage(lineageOf(layerViews(trace, geo), 1), geo)).toBe(
      'Patch row 1, column 1: blocks 0–2: shares a token with 1 other patch; dropped after block 3.',
    );
    expect(describeLineage(lineageOf(layerViews(trace, geo), 0), geo)).toBe('The class token: blocks 0–2: its own token; block 3: sampled (kept) by ATS.');
  });
});

describe('palette', () => {
  it('FATE_COLOUR draws every fate from the Okabe–Ito palette, each one different', () => {
    const colours = Object.values(FATE_COLOUR);
    expect(colours.every((c) => (Object.values(OKABE_ITO) as string[]).includes(c))).toBe(true);
    expect(new Set(colours).size).toBe(colours.length);
  });
});
