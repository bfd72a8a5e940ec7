import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';
import { runForward } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { disposeReduction } from '../tokens/assignment';
import { readEvidenceSync, type Evidence } from '../tokens/evidence';
import { withDevicePaths } from '../tokens/kernel-paths';
import type { ReduceInput, Reduction } from '../tokens/types';
import { ats } from './ats';
import { compilePlan } from './compile';
import { evit, topk } from './evit';
import { layerEvidence, evidenceRecords, evidenceSentence, rowName, tokenSizes } from './evidence';
import { MCTF_DEFAULTS, mctf } from './mctf';
import { pitome, pitomeLayerParams } from './pitome';
import { planFromText } from './plan';
import { tome } from './tome';
import { TINY_VIT } from '../../tests/helpers/tiny-vit';

useWasmBackend();

// Expectations here come from outside the methods: scores recomputed in float64 from the inputs
// by the definitions (docs/METHODS.md), and assignments rebuilt from the recorded indices alone.

const B = 2;
const N = 17; // CLS + 16 patches
const H = 3;
const DH = 4;

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function nested(shape: number[], next: () => number): unknown {
  return shape.length === 0 ? next() * 2 - 1 : Array.from({ length: shape[0] }, () => nested(shape.slice(1), next));
}

interface Inputs {
  x: number[][][];
  keys: number[][][];
  probs: number[][][][];
  norms: number[][];
}

function makeInputs(seed: number): Inputs {
  const next = rng(seed);
  const logits = nested([B, H, N, N], next) as number[][][][];
  const probs = logits.map((img) =>
    img.map((head) =>
      head.map((row) => {
        const e = row.map((v) => Math.exp(3 * v));
        const s = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / s);
      }),
    ),
  );
  return {
    x: nested([B, N, 8], next) as number[][][],
    keys: nested([B, N, DH], next) as number[][][],
    probs,
    norms: (nested([B, N], next) as number[][]).map((r) => r.map((v) => 1.5 + v)),
  };
}

function reduceInput(inp: Inputs): ReduceInput {
  const probs = tf.tensor4d(inp.probs);
  return {
    x: tf.tensor3d(inp.x),
    size: tf.ones([B, N, 1]) as tf.Tensor3D,
    sizeIsTracked: false,
    attention: {
      keysMean: tf.tensor3d(inp.keys),
      probs,
      clsAttn: tf.tidy(() => tf.reshape(tf.slice(probs, [0, 0, 0, 0], [B, H, 1, N]), [B, H, N]) as tf.Tensor3D),
      valueNorms: tf.tensor2d(inp.norms),
    },
    layer: 8,
    depth: 12,
    classToken: true,
    distillToken: false,
    evidence: true,
  };
}

function disposeInput(input: ReduceInput): void {
  tf.dispose([input.x, input.size, ...Object.values(input.attention)]);
}

const methods: [string, (input: ReduceInput) => Reduction][] = [
  ['evit', (i) => evit.reduce(i, { keepRate: 0.5, fuse: true })],
  ['topk', (i) => topk.reduce(i, { keepRate: 0.6 })],
  ['tome', (i) => tome.reduce(i, { r: 5 })],
  ['pitome (bsm)', (i) => pitome.reduce(i, pitomeLayerParams(1, 12, 0.7))],
  ['pitome (protect)', (i) => pitome.reduce(i, pitomeLayerParams(9, 12, 0.7))],
  ['ats', (i) => ats.reduce(i, { nTokens: N, nRef: N })],
  ['mctf', (i) => mctf.reduce(i, { ...MCTF_DEFAULTS, r: 6 })],
];

/** Runs one method with evidence on: its assignment targets per image and its evidence per image. */
function decide(run: (input: ReduceInput) => Reduction, inp: Inputs): { targets: number[][]; evidence: Evidence[]; nOut: number } {
  const input = reduceInput(inp);
  const reduction = run(input);
  const targets = reduction.assignment.target.arraySync() as number[][];
  expect(reduction.evidence, 'evidence asked for').toBeDefined();
  const evidence = readEvidenceSync(reduction.evidence!, B);
  const nOut = reduction.assignment.nOut;
  disposeReduction(reduction);
  disposeInput(input);
  return { targets, evidence, nOut };
}

const cosine = (a: number[], b: number[]) => {
  const dot = a.reduce((s, v, i) => s + v * b[i], 0);
  return dot / Math.hypot(...a) / Math.hypot(...b);
};

/** The output row of every input token, rebuilt from the recorded indices only (the method's documented output order). */
function targetsFromEvidence(method: string, e: Evidence, nOut: number): number[] {
  const f = (name: string) => e.fields[name] as number[];
  const c = e.constants;
  const target = new Array<number>(N).fill(-1);
  switch (method) {
    case 'evit':
    case 'topk': {
      const p = Number(c.protectedCount);
      for (let i = 0; i < p; i++) target[i] = i;
      f('keptIdx').forEach((k, slot) => (target[k + p] = p + slot));
      if (c.fuse) target.forEach((t, i) => t < 0 && (target[i] = nOut - 1));
      return target;
    }
    case 'tome': {
      // [unmerged A in A order, then every B]; sources go to their destination's B row
      const nUnm = f('unmIdx').length;
      f('unmIdx').forEach((a, k) => (target[2 * a] = k));
      for (let j = 0; 2 * j + 1 < N; j++) target[2 * j + 1] = nUnm + j;
      f('srcIdx').forEach((a, k) => (target[2 * a] = nUnm + f('dstIdx')[k]));
      return target;
    }
    case 'pitome': {
      const [a, b, dst] = [f('aIdx'), f('bIdx'), f('dstIdx')];
      target[0] = 0;
      if (c.mode === 'protect') {
        const prot = f('protectedIdx');
        prot.forEach((t, k) => (target[t + 1] = 1 + k));
        b.forEach((t, j) => (target[t + 1] = 1 + prot.length + j));
        a.forEach((t, i) => (target[t + 1] = 1 + prot.length + dst[i]));
      } else {
        const unm = f('unmIdx');
        unm.forEach((pos, k) => (target[a[pos] + 1] = 1 + k));
        b.forEach((t, j) => (target[t + 1] = 1 + unm.length + j));
        f('srcIdx').forEach((pos, k) => (target[a[pos] + 1] = 1 + unm.length + dst[k]));
      }
      return target;
    }
    case 'ats':
      f('keptTokens').forEach((t, slot) => t >= 0 && (target[t] = slot));
      return target;
    case 'mctf': {
      const unm = f('unmIdx');
      const targetB = Array.from({ length: Math.floor(N / 2) }, (_, j) => unm.length + j);
      f('unmIdx2').forEach((j, k) => (targetB[j] = unm.length + k));
      f('srcIdx2').forEach((j, k) => (targetB[j] = f('dstIdx2')[k]));
      unm.forEach((a, k) => (target[2 * a] = k));
      f('srcIdx').forEach((a, k) => (target[2 * a] = targetB[f('dstIdx')[k]]));
      targetB.forEach((row, j) => (target[2 * j + 1] = row));
      return target;
    }
  }
  throw new Error(method);
}

describe('decision evidence', () => {
  for (const [name, run] of methods) {
    it(`${name}: the recorded indices alone rebuild the assignment the method applied`, () => {
      const { targets, evidence, nOut } = decide(run, makeInputs(7));
      evidence.forEach((e, b) => expect(targetsFromEvidence(e.method, e, nOut)).toEqual(targets[b]));
    });

    it(`${name}: the host path (CPU backends) records the device path's evidence`, () => {
      const inp = makeInputs(11);
      const host = decide(run, inp);
      const device = withDevicePaths(() => decide(run, inp));
      expect(host.targets).toEqual(device.targets);
      host.evidence.forEach((e, b) => {
        const d = device.evidence[b];
        expect(e.constants).toEqual(d.constants);
        expect(Object.keys(e.fields).sort()).toEqual(Object.keys(d.fields).sort());
        for (const [field, value] of Object.entries(e.fields)) {
          // MCTF's criteria use Math.pow on the host, which may differ from the backend's pow by one float32 ulp
          if (name === 'mctf' && ['info', 'bestScore', 'bestScore2'].includes(field)) {
            (value as number[]).forEach((v, i) => expect(v).toBeCloseTo((d.fields[field] as number[])[i], 6));
          } else {
            expect(value, field).toEqual(d.fields[field]);
          }
        }
      });
    });
  }

  it('evit records the head-mean CLS attention, keeps the top ones and cuts at the last kept', () => {
    const inp = makeInputs(3);
    const { evidence } = decide(methods[0][1], inp);
    evidence.forEach((e, b) => {
      const mean = Array.from({ length: N - 1 }, (_, j) => inp.probs[b].reduce((s, head) => s + head[0][j + 1], 0) / H);
      (e.fields.clsAttnMean as number[]).forEach((v, j) => expect(v).toBeCloseTo(mean[j], 6));
      const read = layerEvidence({ layer: 8, method: 'evit', nIn: N, nOut: 10, evidence: e, target: targetsFromEvidence('evit', e, 10) })!;
      const kept = read.tokens.filter((t) => t.outcome === 'kept' && t.score !== null);
      const fused = read.tokens.filter((t) => t.outcome === 'fused');
      expect(kept.length).toBe(Math.ceil(0.5 * (N - 1)));
      expect(Math.min(...kept.map((t) => t.score!))).toBe(read.cutoff);
      expect(Math.max(...fused.map((t) => t.score!))).toBeLessThan(read.cutoff!);
    });
  });

  it("tome records each A token's best cosine and partner, and takes the r best edges", () => {
    const inp = makeInputs(5);
    const { evidence } = decide(methods[2][1], inp);
    evidence.forEach((e, b) => {
      const keys = inp.keys[b];
      const best = e.fields.bestScore as number[];
      for (let i = 1; 2 * i < N; i++) {
        const cos = Array.from({ length: Math.floor(N / 2) }, (_, j) => cosine(keys[2 * i], keys[2 * j + 1]));
        expect(best[i]).toBeCloseTo(Math.max(...cos), 5);
        expect((e.fields.bestPartner as number[])[i]).toBe(cos.indexOf(Math.max(...cos)));
      }
      expect(best[0]).toBe(-Infinity); // CLS is never a source
      const taken = [...best.keys()]
        .filter((i) => i > 0)
        .sort((p, q) => best[q] - best[p])
        .slice(0, 5);
      expect([...(e.fields.srcIdx as number[])]).toEqual(taken);
    });
  });

  it('pitome records the energy E_i = mean_j ELU(cos_ij − margin) of every patch token', () => {
    const inp = makeInputs(9);
    const params = pitomeLayerParams(9, 12, 0.7);
    const { evidence } = decide(methods[4][1], inp);
    evidence.forEach((e, b) => {
      const keys = inp.keys[b].slice(1);
      const elu = (u: number) => (u > 0 ? u : Math.exp(u) - 1);
      keys.forEach((k, i) => {
        const energy = keys.reduce((s, other) => s + elu(cosine(k, other) - params.margin), 0) / keys.length;
        expect((e.fields.energy as number[])[i]).toBeCloseTo(energy, 5);
      });
      const order = e.fields.order as number[];
      const energies = e.fields.energy as number[];
      for (let k = 1; k < order.length; k++) expect(energies[order[k - 1]]).toBeGreaterThanOrEqual(energies[order[k]]);
    });
  });

  it('ats records the significance, its ascending sort and the normalised CDF the draws land on', () => {
    const inp = makeInputs(13);
    const { evidence } = decide(methods[5][1], inp);
    evidence.forEach((e, b) => {
      const raw = Array.from({ length: N - 1 }, (_, j) => inp.probs[b].reduce((s, head) => s + head[0][j + 1], 0) * inp.norms[b][j + 1]);
      const total = raw.reduce((s, v) => s + v, 0);
      (e.fields.significance as number[]).forEach((v, j) => expect(v).toBeCloseTo(raw[j] / total, 5));
      const sorted = [...(e.fields.significance as number[])].sort((p, q) => p - q);
      expect(e.fields.sortedScores).toEqual(sorted);
      let acc = 0;
      const cdf = sorted.map((v) => (acc += v));
      const ncdf = cdf.map((v) => (v - cdf[0]) / (cdf[cdf.length - 1] - cdf[0]));
      (e.fields.normalizedCdf as number[]).forEach((v, k) => expect(v).toBeCloseTo(ncdf[k], 5));
      const read = layerEvidence({ layer: 8, method: 'ats', nIn: N, nOut: 0, evidence: e })!;
      const kept = (e.fields.keptTokens as number[]).filter((t) => t > 0);
      expect(new Set(read.cdf!.drawRows.filter((r) => r >= 0))).toEqual(new Set(kept));
      expect(read.cdf!.kept).toBe(kept.length + 1);
    });
  });

  it("mctf records each A token's best combined score: similarity × informativeness (power 1/τ_info)", () => {
    const inp = makeInputs(15);
    const { evidence } = decide(methods[6][1], inp);
    evidence.forEach((e, b) => {
      const received = Array.from({ length: N }, (_, k) => inp.probs[b].reduce((s, head) => s + head.reduce((t, row) => t + row[k], 0), 0) / (H * N));
      const inverse = received.map((v) => 1 / v);
      const info = inverse.map((v) => (v / Math.max(...inverse)) ** (1 / MCTF_DEFAULTS.tauInfo));
      (e.fields.info as number[]).forEach((v, k) => expect(v).toBeCloseTo(info[k], 5));
      const x = inp.x[b];
      for (let i = 1; 2 * i < N; i++) {
        const scores = Array.from({ length: Math.floor(N / 2) }, (_, j) => ((cosine(x[2 * i], x[2 * j + 1]) + 1) / 2) * info[2 * i] * info[2 * j + 1]);
        expect((e.fields.bestScore as number[])[i]).toBeCloseTo(Math.max(...scores), 5);
        const j = (e.fields.bestPartner as number[])[i];
        expect((e.fields.bestSimilarity as number[])[i]).toBeCloseTo((cosine(x[2 * i], x[2 * j + 1]) + 1) / 2, 5);
      }
    });
  });

  it('evidenceSentence says where a merged patch went, with its score and rank', () => {
    const { evidence, targets } = decide(methods[2][1], makeInputs(5));
    const read = layerEvidence({ layer: 3, method: 'tome', nIn: N, nOut: N - 5, evidence: evidence[0], target: targets[0] })!;
    const edge = read.edges.find((x) => x.chosen && x.rank === 3)!;
    const name = (row: number) => rowName(row, 4, 1);
    expect(evidenceSentence(read, edge.from, name)).toBe(
      `${name(edge.from)} merged into ${name(edge.to)}: cosine ${edge.score.toFixed(3)}, the 3rd best of 8 edges; r = 5 merges per block here.`,
    );
  });
});

describe('merged groups', () => {
  it('tokenSizes counts the original tokens behind each row entering a block, and evidenceRecords gives each merged group its log-size bias', () => {
    // block 0 merges rows 1 and 2 (ToMe, recorded); block 1 merges rows 1 and 3 of the 4 left: sizes 2 + 1
    const tome = (fields: Record<string, number[]>) => ({ method: 'tome', constants: { r: 1, protectedCount: 1 }, fields });
    const layers = [
      {
        layer: 0,
        method: 'tome',
        nIn: 5,
        nOut: 4,
        target: [0, 1, 1, 2, 3],
        evidence: tome({ bestScore: [-Infinity, 0.9, 0.2], bestPartner: [0, 0, 1], edgeOrder: [1, 2, 0], srcIdx: [1], dstIdx: [0], unmIdx: [0, 2] }),
      },
      {
        layer: 1,
        method: 'tome',
        nIn: 4,
        nOut: 3,
        target: [0, 1, 2, 1],
        evidence: tome({ bestScore: [-Infinity, 0.7], bestPartner: [0, 1], edgeOrder: [1, 0], srcIdx: [1], dstIdx: [1], unmIdx: [0] }),
      },
    ];
    expect(tokenSizes(layers, 5)).toEqual([
      [1, 1, 1, 1, 1],
      [1, 2, 1, 1],
    ]);
    const records = evidenceRecords(layers);
    expect(records[0].groups).toEqual([{ to: 1, rows: [1, 2], size: 2, logSizeBias: Math.log(2) }]);
    expect(records[1].groups).toEqual([{ to: 1, rows: [1, 3], size: 3, logSizeBias: Math.log(3) }]);
  });
});

describe('evidence in the trace', () => {
  const config = TINY_VIT;
  const plans = ['evit:keep=0.6', 'topk:keep=0.6', 'tome:r=3', 'pitome:ratio=0.8', 'ats:layers=1-3', 'mctf:r=3', 'evit:keep=0.7,layers=1+tome:r=2,layers=2-3'];

  it("runForward at record level 'evidence' gives the logits and assignments of 'fates', plus one evidence record per reducing block", async () => {
    const model = { config, weights: randomWeights(config, 3) };
    const pixels = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    for (const text of plans) {
      const plan = compilePlan(planFromText(text, 4), config);
      const fates = await runForward(model, pixels, plan, { record: 'fates' });
      const withEvidence = await expectNoLeak(() => runForward(model, pixels, plan, { record: 'evidence' }), { returned: 1 });
      expect(await withEvidence.logits.array()).toEqual(await fates.logits.array());
      withEvidence.traces.forEach((trace, i) => {
        trace.layers.forEach((layer, l) => {
          const plain = fates.traces[i].layers[l];
          expect(plain.evidence).toBeUndefined();
          expect(layer.target).toEqual(plain.target);
          expect(layer.evidence?.method).toBe(layer.method ?? undefined);
        });
      });
      tf.dispose([fates.logits, withEvidence.logits]);
    }
    tf.dispose([pixels, ...listWeights(model.weights)]);
  });
});
