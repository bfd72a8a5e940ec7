import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { archConfig } from '../model/config';
import { runForward } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { scheduledFlops } from '../measure/plan-flops';
import { useWasmBackend } from '../../tests/helpers/tf';
import { atcNumClusters } from './atc';
import { cutTree, dendrogram } from './atc-clustering';
import { compilePlan, predictTokens } from './compile';
import { evidenceSentence, layerEvidence } from './evidence';
import { parsePlan, planFromText } from './plan';
import { TINY_VIT } from '../../tests/helpers/tiny-vit';

useWasmBackend();

describe('ATC clustering (hand-computed)', () => {
  // four points on a line at 0, 1, 3, 7: distances |a − b|
  const pos = [0, 1, 3, 7];
  const dist = pos.flatMap((a) => pos.map((b) => Math.abs(a - b)));
  it('single linkage merges {0,1} at 1, then 2 at 2, then 3 at 4; average and complete differ at the upper merges', () => {
    expect(dendrogram(dist, 4, 'single')).toEqual({
      children: [
        [0, 1],
        [2, 4],
        [3, 5],
      ],
      distances: [1, 2, 4],
    });
    // average: d({0,1}, 2) = (3 + 2)/2 = 2.5; d({0,1,2}, 3) = (7 + 6 + 4)/3
    expect(dendrogram(dist, 4, 'average')).toEqual({
      children: [
        [0, 1],
        [2, 4],
        [3, 5],
      ],
      distances: [1, 2.5, 17 / 3],
    });
    expect(dendrogram(dist, 4, 'complete').distances).toEqual([1, 3, 7]);
  });
  it("labels clusters by their position in sklearn's heap, not by size or first member", () => {
    const tree = dendrogram(dist, 4, 'single');
    // k = 2: heap [-6] -> push -3, pushpop -5 -> [-5, -3]: node 5 = {0,1,2} label 0, leaf 3 label 1
    expect(Array.from(cutTree(tree, 4, 2))).toEqual([0, 0, 0, 1]);
    // k = 4: every leaf its own cluster, numbered by heap position: [-2, -1, -0, -3] style permutation
    const labels = Array.from(cutTree(tree, 4, 4));
    expect([...labels].sort()).toEqual([0, 1, 2, 3]);
    expect(Array.from(cutTree(tree, 4, 1))).toEqual([0, 0, 0, 0]);
  });
  it('counts clusters as int(patches·κ^(i+1)) (docs/METHODS.md#atc)', () => {
    const k = (keep: number) => [0, 1, 2].map((i) => atcNumClusters(196, keep, i));
    expect(k(0.9)).toEqual([176, 158, 142]);
    expect(k(0.7)).toEqual([137, 96, 67]);
    expect(k(0.5)).toEqual([98, 49, 24]);
    expect(k(0.25)).toEqual([49, 12, 3]);
  });
});

describe('ATC FLOPs (docs/METHODS.md#atc, fvcore with the similarity matmul at each clustering block)', () => {
  const table: [number, string, number, number, number][] = [
    [0.9, '197,197,197,197,177,177,177,159,159,159,143,143,143', 1.0849, 3.9739, 15.182],
    [0.7, '197,197,197,197,138,138,138,97,97,97,68,68,68', 0.815, 2.9908, 11.438],
    [0.5, '197,197,197,197,99,99,99,50,50,50,25,25,25', 0.6267, 2.2855, 8.71],
    [0.25, '197,197,197,197,50,50,50,13,13,13,4,4,4', 0.475, 1.7049, 6.438],
  ];
  for (const [keep, counts, t, s, b] of table) {
    it(`keep ${keep}: tokens ${counts}; DeiT-T ${t}, DeiT-S ${s}, DeiT-B ${b} GFLOPs`, () => {
      for (const [arch, expected, tol] of [
        ['deit-t', t, 0.00006],
        ['deit-s', s, 0.00006],
        ['deit-b', b, 0.0006],
      ] as const) {
        const config = archConfig(arch);
        const r = scheduledFlops(config, compilePlan(planFromText(`atc:keep=${keep}`, 12), config))!;
        expect(r.counts).toEqual(counts.split(',').map(Number));
        expect(Math.abs(r.report.total / 1e9 - expected)).toBeLessThanOrEqual(tol);
      }
    });
  }
});

describe('ATC in the plan and the engine', () => {
  const small = TINY_VIT;
  it('refuses a linkage code outside 0..2, a keep rate above 1 (more clusters than tokens) and a distilled model', () => {
    const bad = parsePlan('atc:linkage=3', 12);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/'linkage=3' in 'atc:linkage=3': linkage must be an integer in \[0, 2\]/);
    const over = parsePlan('atc:keep=1.5', 12);
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error.message).toMatch(/keep must be a number in \(0, 1\]/);
    expect(() => compilePlan(planFromText('atc', 12), { ...archConfig('deit-s'), distilled: true })).toThrow(/atc cannot run on a model with a distillation token/);
  });

  it('runs alone and after ToMe with the predicted token counts, records its tree, and frees every tensor', async () => {
    const model = { config: small, weights: randomWeights(small, 7) };
    const pixels = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (const text of ['atc:keep=0.5,layers=1/2', 'tome:r=2,layers=0+atc:linkage=0,prop=0,layers=2-3']) {
      const plan = compilePlan(planFromText(text, 4), small);
      const { logits, traces } = await runForward(model, pixels, plan, { record: 'evidence' });
      const predicted = predictTokens(plan, 17)!;
      for (const t of traces) expect([...t.layers.map((l) => l.nIn), t.layers[3].nOut]).toEqual(predicted);
      const ev = layerEvidence(traces[0].layers[2])!;
      expect(ev.method).toBe('atc');
      expect(ev.edges.length).toBe(ev.tokens.length - 2); // T − 1 merges of the T = N − 1 patch tokens
      expect(evidenceSentence(ev, 1, (r) => `row ${r}`)).toMatch(/^row 1 goes to cluster row \d+ of \d+/);
      logits.dispose();
    }
    expect(predictTokens(compilePlan(planFromText('atc:keep=0.5,layers=1/2', 4), small), 17)).toEqual([17, 17, 9, 5, 5]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([pixels, ...listWeights(model.weights)]);
  });
});
