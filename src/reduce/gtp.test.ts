import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { archConfig } from '../model/config';
import { runForward } from '../model/run';
import { listWeights, randomWeights, weightsFromTimm, weightsToTimm } from '../model/weights';
import { scheduledFlops } from '../measure/plan-flops';
import { useWasmBackend } from '../../tests/helpers/tf';
import { TINY_VIT } from '../../tests/helpers/tiny-vit';
import { referenceGtpForward, type ReferenceGtp } from '../../tests/helpers/reference-gtp';
import { compilePlan, predictTokens } from './compile';
import { evidenceSentence, layerEvidence } from './evidence';
import { GTP_GRAPHS, gtpGraph, spatialAdjacency } from './gtp';
import { formatPlan, parsePlan, planFromText } from './plan';

useWasmBackend();

const config = TINY_VIT; // 16 patches on a 4×4 grid + CLS, 4 blocks, 2 heads

function seededImage(seed: number): number[][][] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: 16 }, () => Array.from({ length: 16 }, () => Array.from({ length: 3 }, rnd)));
}

/** Seeded random weights with every number perturbed: LN and biases at their init values would hide mistakes. */
async function perturbedWeights(seed: number) {
  const initial = randomWeights(config, seed);
  const named = await weightsToTimm(config, initial);
  tf.dispose(listWeights(initial));
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (const { data } of named.values()) data.forEach((v, i) => (data[i] = v + 0.5 * rnd()));
  return weightsFromTimm(config, named);
}

describe('GTP (docs/METHODS.md#gtp)', () => {
  it('spatial graph on a 4×4 grid: 3 neighbours at corners, 5 on edges, 8 inside; W = A/√(d_i d_j)', () => {
    const a = spatialAdjacency(16);
    const degree = Array.from({ length: 16 }, (_, i) => a.slice(i * 16, i * 16 + 16).reduce((s, v) => s + v, 0));
    expect(degree).toEqual([3, 5, 5, 3, 5, 8, 8, 5, 5, 8, 8, 5, 3, 5, 5, 3]);
    const w = tf.tidy(() => gtpGraph(tf.zeros([1, 17, 4]), { graph: 'spatial', neighbours: 8 }).arraySync()[0]);
    expect(w[0][1]).toBeCloseTo(1 / Math.sqrt(3 * 5), 6); // corner to edge
    expect(w[5][6]).toBeCloseTo(1 / 8, 6); // inner to inner
    expect(w[0][0]).toBe(0);
    expect(w[0][2]).toBe(0);
  });

  const cases: [string, ReferenceGtp][] = [
    ['gtp:p=3,alpha=0.3,neighbours=4', { p: 3, graph: 'mixed', alpha: 0.3, neighbours: 4, sparsity: 1, scale: false, layers: [0, 1, 2, 3] }],
    [
      'gtp:p=2,graph=spatial,sparsity=0.7,scale=1,alpha=0.5',
      { p: 2, graph: 'spatial', alpha: 0.5, neighbours: 8, sparsity: 0.7, scale: true, layers: [0, 1, 2, 3] },
    ],
    ['gtp:p=3,graph=semantic,neighbours=3,scale=1,layers=1/3', { p: 3, graph: 'semantic', alpha: 0.1, neighbours: 3, sparsity: 1, scale: true, layers: [1, 3] }],
  ];
  for (const [text, ref] of cases) {
    it(`${text}: logits, token counts and kept orders equal an independent float64 forward (2 images)`, async () => {
      const model = { config, weights: await perturbedWeights(5) };
      const named = await weightsToTimm(config, model.weights);
      const images = [seededImage(3), seededImage(8)];
      const pixels = tf.tensor4d(images);
      const plan = compilePlan(planFromText(text, 4), config);
      const { logits, traces } = await runForward(model, pixels, plan, { record: 'evidence' });
      const got = (await logits.array()) as number[][];
      images.forEach((img, b) => {
        const expected = referenceGtpForward(config, named, img, ref);
        expect(expected.minGap).toBeGreaterThan(1e-4); // the orders are robust to float32
        expect([...traces[b].layers.map((l) => l.nIn), traces[b].layers[3].nOut]).toEqual(expected.counts);
        expect(expected.counts).toEqual(predictTokens(plan, 17));
        got[b].forEach((v, i) => expect(v).toBeCloseTo(expected.logits[i], 3));
        const keptOrders = ref.layers.map((l) => {
          const order = traces[b].layers[l].evidence!.fields.order as number[];
          return order.slice(0, Number(traces[b].layers[l].evidence!.constants.kept));
        });
        expect(keptOrders).toEqual(expected.kept);
      });
      tf.dispose([pixels, logits, ...listWeights(model.weights)]);
    }, 30_000);
  }

  it('frees the graph and everything per forward: the tensor count stays flat over 200 forwards', async () => {
    const model = { config, weights: randomWeights(config, 2) };
    const pixels = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const plans = ['gtp:p=3', 'gtp:p=2,graph=spatial,scale=1,sparsity=0.8', 'gtp:p=1,graph=semantic,layers=2-3'].map((t) => compilePlan(planFromText(t, 4), config));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) {
      const { logits } = await runForward(model, pixels, plans[i % 3], { record: i % 2 === 0 ? 'evidence' : 'none' });
      logits.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([pixels, ...listWeights(model.weights)]);
  }, 60_000);

  it('explains a propagated token by its kept neighbours and weights', async () => {
    const model = { config, weights: randomWeights(config, 7) };
    const pixels = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const { logits, traces } = await runForward(model, pixels, compilePlan(planFromText('gtp:p=3,alpha=0.2', 4), config), { record: 'evidence' });
    const ev = layerEvidence(traces[0].layers[0])!;
    const propagated = ev.tokens.filter((t) => t.outcome === 'dropped');
    expect(propagated).toHaveLength(3);
    expect(ev.r).toBe(3);
    // every edge runs from a propagated token to a kept one, alpha × a graph weight (W ≤ 1/3 on this graph)
    for (const e of ev.edges) {
      expect(ev.tokens[e.from].outcome).toBe('dropped');
      expect(ev.tokens[e.to].outcome).toBe('kept');
      expect(e.score).toBeGreaterThan(0);
      expect(e.score).toBeLessThanOrEqual(0.2 / 3 + 1e-7);
    }
    const row = propagated[0].row;
    expect(evidenceSentence(ev, row, (r) => `row ${r}`)).toMatch(
      new RegExp(`^row ${row}: MixedAttnMax .*, (14|15|16)th of 16: among the 3 lowest, propagated to \\d+ kept neighbours? — row \\d+ \\(0\\.\\d+\\)`),
    );
    // kept tokens leave in descending score order: rank k goes to row k
    for (const t of ev.tokens.filter((x) => x.outcome === 'kept' && x.row > 0)) expect(t.to).toBe(t.rank);
    logits.dispose();
    tf.dispose([pixels, ...listWeights(model.weights)]);
  });

  it('plan grammar: names or numbers for the graph, canonical text with names, clear refusals', () => {
    const plan = planFromText('gtp:p=4,graph=spatial,alpha=0.4,scale=1', 12);
    expect(plan.segments[0].params).toEqual({ p: 4, graph: 0, alpha: 0.4, neighbours: 8, sparsity: 1, scale: true });
    expect(formatPlan(plan)).toBe('gtp:p=4,graph=spatial,alpha=0.4,scale=1');
    expect(planFromText('gtp:graph=1', 12).segments[0].params.graph).toBe(1);
    expect(formatPlan(planFromText('gtp:p=8,graph=mixed', 12))).toBe('gtp');
    expect(GTP_GRAPHS).toEqual(['spatial', 'semantic', 'mixed']);
    const refused: [string, RegExp][] = [
      ['gtp:p=0', /'p=0' in 'gtp:p=0': p must be an integer in \[1, 4096\] .*the official code removes every patch at 0/],
      ['gtp:graph=grid', /'graph=grid' in 'gtp:graph=grid': graph must be one of spatial \(0\), semantic \(1\), mixed \(2\)/],
      ['gtp:sparsity=0', /sparsity must be a number in \(0, 1\]/],
      ['gtp:alpha=-1', /alpha must be a number in \[0, 10\]/],
      ['gtp+tome', /layer 0 is claimed by both/],
      ['gtp:layers=0-5+tome:layers=6-11', /'GTP' runs alone: .*another method's reduction \('tome'\)/],
      ['gtp:layers=0-5+gtp:graph=spatial,layers=6-11', /every gtp segment must use the same graph and neighbours/],
    ];
    for (const [text, message] of refused) {
      const parsed = parsePlan(text, 12);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.error.message).toMatch(message);
    }
  });

  it('refuses settings that would empty a block, break the k-NN or the sparsity, and distilled models', () => {
    const deit = archConfig('deit-t');
    expect(() => compilePlan(planFromText('gtp:p=17', 12), deit)).toThrow(
      /'p=17' in gtp:p=17,… on layers 0-11|block 11 receives 9 patch tokens, and p ≥ that propagates every one/,
    );
    expect(() => compilePlan(planFromText('gtp:p=16', 12), deit)).not.toThrow();
    expect(() => compilePlan(planFromText('gtp:neighbours=0', 12), deit)).toThrow(
      /'neighbours=0' in gtp: a mixed graph over 196 patches needs 1 ≤ neighbours ≤ 195/,
    );
    expect(() => compilePlan(planFromText('gtp:graph=semantic,neighbours=196', 12), deit)).toThrow(/needs 1 ≤ neighbours ≤ 195/);
    expect(() => compilePlan(planFromText('gtp:graph=spatial,neighbours=0', 12), deit)).not.toThrow();
    expect(() => compilePlan(planFromText('gtp:p=3,sparsity=0.999', 4), config)).toThrow(
      /'sparsity=0.999' in gtp.* with 17 tokens at block 0, ⌊17²·\(1 − 0.999\)⌋ = 0 has no k-th smallest/,
    );
    expect(() => compilePlan(planFromText('gtp', 12), { ...deit, distilled: true })).toThrow(
      /gtp cannot run on a model with a distillation token: its official code builds the graph over every token after the class token/,
    );
  });

  /**
   * docs/METHODS.md#gtp: block l attends 197 − P·l tokens; fvcore model FLOPs plus the method's own
   * matmuls (W_kp · x_prop per block, the graph's normalisation 2·T³ and, for mixed, the cosines T²·D).
   * Hand-computed from the block formula there, independently of the code.
   */
  const TABLE: [string, number, string, number][] = [
    ['deit-t', 4, 'mixed', 1.114],
    ['deit-t', 8, 'mixed', 0.953],
    ['deit-t', 12, 'mixed', 0.7976],
    ['deit-t', 16, 'mixed', 0.6481],
    ['deit-s', 4, 'mixed', 4.0427],
    ['deit-s', 8, 'mixed', 3.4586],
    ['deit-s', 12, 'mixed', 2.8861],
    ['deit-s', 16, 'mixed', 2.325],
    ['deit-s', 4, 'spatial', 4.0279],
    ['deit-b', 4, 'mixed', 15.389],
    ['deit-b', 8, 'mixed', 13.173],
    ['deit-b', 12, 'mixed', 10.981],
    ['deit-b', 16, 'mixed', 8.811],
  ];
  for (const [arch, p, graph, gflops] of TABLE) {
    it(`${arch} p=${p} ${graph} graph: ${197 - 12 * p} tokens at the end, ${gflops} GFLOPs with the method's own work`, () => {
      const c = archConfig(arch);
      const r = scheduledFlops(c, compilePlan(planFromText(`gtp:p=${p},graph=${graph}`, 12), c))!;
      expect(r.counts).toEqual(Array.from({ length: 13 }, (_, l) => 197 - p * l));
      const digits = String(gflops).split('.')[1].length;
      expect(Math.abs(r.report.total / 1e9 - gflops)).toBeLessThanOrEqual(0.6 * 10 ** -digits);
    });
  }

  it('baselines reproduce DeiT-T 1.2584, DeiT-S 4.6083, DeiT-B 17.5827 GFLOPs', () => {
    for (const [arch, g] of [
      ['deit-t', 1.2584],
      ['deit-s', 4.6083],
      ['deit-b', 17.5827],
    ] as const) {
      const c = archConfig(arch);
      expect(Math.abs(scheduledFlops(c, compilePlan(planFromText('none', 12), c))!.report.total / 1e9 - g)).toBeLessThanOrEqual(0.00006);
    }
  });
});
