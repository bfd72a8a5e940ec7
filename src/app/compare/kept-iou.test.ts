import { describe, expect, it } from 'vitest';
import type { Trace } from '../../model/run';
import { iou, keptAgreement, keptPatches } from './kept-iou';

// Five original tokens: CLS (0) and patches 1..4. Worked by hand.
const merge: Trace = {
  tokens: 5,
  layers: [
    { layer: 0, method: 'tome', nIn: 5, nOut: 4, target: [0, 1, 1, 2, 3] }, // patches 1 and 2 share row 1
    { layer: 1, method: null, nIn: 4, nOut: 4 }, // no reduction: same owners
  ],
};
const prune: Trace = {
  tokens: 5,
  layers: [
    { layer: 0, method: 'topk', nIn: 5, nOut: 4, target: [0, 1, -1, 2, 3] }, // patch 2 dropped
    { layer: 1, method: 'topk', nIn: 4, nOut: 2, target: [0, -1, 1, -1] }, // patches 1 and 4 dropped
  ],
};
const fuse: Trace = {
  tokens: 5,
  layers: [
    { layer: 0, method: 'evit', nIn: 5, nOut: 3, target: [0, 1, 2, 2, 2], fusedRow: 2 }, // 2,3,4 fused
    { layer: 1, method: null, nIn: 3, nOut: 3 },
  ],
};
const none: Trace = {
  tokens: 5,
  layers: [
    { layer: 0, method: null, nIn: 5, nOut: 5 },
    { layer: 1, method: null, nIn: 5, nOut: 5 },
  ],
};

describe('keptPatches', () => {
  it('keptPatches counts patches alone in their token: merged groups, dropped and fused patches are not kept, CLS never counts', () => {
    expect(keptPatches(merge, 1).map((s) => [...s])).toEqual([
      [3, 4],
      [3, 4],
    ]);
    expect(keptPatches(prune, 1).map((s) => [...s])).toEqual([[1, 3, 4], [3]]);
    expect(keptPatches(fuse, 1).map((s) => [...s])).toEqual([[1], [1]]);
    expect(keptPatches(none, 1).map((s) => [...s])).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
    ]);
  });
});

describe('iou', () => {
  it('iou is |A∩B| / |A∪B|, and 1 for two empty sets', () => {
    expect(iou(new Set([3, 4]), new Set([1, 3, 4]))).toBeCloseTo(2 / 3, 15);
    expect(iou(new Set([1]), new Set([2]))).toBe(0);
    expect(iou(new Set(), new Set())).toBe(1);
    expect(iou(new Set([1, 2]), new Set([1, 2]))).toBe(1);
  });
});

describe('keptAgreement', () => {
  it('keptAgreement gives every pair of plans its IoU at every block, and the kept counts', () => {
    const a = keptAgreement([merge, prune, none], 1);
    expect(a.pairs).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    // block 0: {3,4} vs {1,3,4} = 2/3; {3,4} vs all = 1/2; {1,3,4} vs all = 3/4
    expect(a.iou[0]).toEqual([2 / 3, 0.5, 0.75]);
    // block 1: {3,4} vs {3} = 1/2; {3,4} vs all = 1/2; {3} vs all = 1/4
    expect(a.iou[1]).toEqual([0.5, 0.5, 0.25]);
    expect(a.kept).toEqual([
      [2, 2],
      [3, 1],
      [4, 4],
    ]);
  });

  it('keptAgreement refuses traces of different models', () => {
    expect(() => keptAgreement([merge, { tokens: 5, layers: [merge.layers[0]] }], 1)).toThrow(/one model/);
  });
});
