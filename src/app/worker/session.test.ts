import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeModelDir } from '../../train/export';
import { listWeights, randomWeights, weightsToTimm } from '../../model/weights';
import { useBackend } from '../../model/backend';
import { parseConfig } from '../../model/config';
import { compilePlan, predictTokens } from '../../reduce/compile';
import { planFromText } from '../../reduce/plan';
import { FALLBACK_CONFIG_JSON, FALLBACK_SEED } from '../model/fallback';
import { EngineSession } from './session';
import type { RunInput } from './protocol';

const config = parseConfig(FALLBACK_CONFIG_JSON);
const input = (key: string): RunInput => ({
  key,
  size: 28,
  channels: 1,
  pixels: Float32Array.from({ length: 784 }, (_, i) => Math.sin(i * 0.37) * 1.5),
});

describe('EngineSession', () => {
  const session = new EngineSession({ useBackend });

  beforeAll(async () => {
    await session.useBackend('wasm');
    await session.loadModel({ kind: 'random', name: 'stand-in', configJson: FALLBACK_CONFIG_JSON, seed: FALLBACK_SEED });
  });
  afterAll(() => session.dispose());

  it('run gives the schedule’s token counts for fixed plans and the unreduced counts alongside', async () => {
    for (const plan of ['none', 'tome:r=6', 'evit:keep=0.5', 'topk:keep=0.6', 'pitome', 'mctf:r=5', 'evit:layers=1+tome:r=4,layers=2-5']) {
      const r = await session.run(input('a'), plan);
      const counts = [...r.trace.layers.map((l) => l.nIn), r.trace.layers[5].nOut];
      expect(counts, plan).toEqual(predictTokens(compilePlan(planFromText(plan, 6), config), 50));
      expect(r.baselineCounts).toEqual(Array(7).fill(50));
      expect(r.flops.total).toBeLessThanOrEqual(r.baselineFlops.total + r.flops.overhead);
    }
  });

  it("run records each reducing block's evidence for the why view by default, and none when asked for fates only", async () => {
    const r = await session.run(input('g'), 'evit:keep=0.5');
    const reducing = r.trace.layers.filter((l) => l.method !== null);
    expect(reducing.length).toBeGreaterThan(0);
    for (const l of reducing) expect(l.evidence?.method).toBe('evit');
    const plain = await session.run(input('g'), 'evit:keep=0.5', 'fates');
    expect(plain.trace.layers.every((l) => l.evidence === undefined)).toBe(true);
    expect(plain.trace.layers.map((l) => l.target)).toEqual(r.trace.layers.map((l) => l.target));
  });

  it('run leaves the tensor count unchanged from one run to the next (ATS included)', async () => {
    await session.run(input('b'), 'ats');
    const before = tf.memory().numTensors;
    const r = await session.run(input('b'), 'ats');
    await session.run(input('b'), 'tome:r=8');
    expect(tf.memory().numTensors).toBe(before);
    expect(r.tensors).toBe(before);
  });

  it('run rejects an invalid plan with plan-invalid and a shape mismatch with shape-mismatch', async () => {
    await expect(session.run(input('c'), 'evit:layers=9')).rejects.toMatchObject({ code: 'plan-invalid' });
    await expect(session.run({ ...input('c'), size: 32, pixels: new Float32Array(1024) }, 'none')).rejects.toMatchObject({ code: 'shape-mismatch' });
  });

  it('time reports medians for the plan and the unreduced model, and stops when stale', async () => {
    const t = await session.time(input('d'), 'tome:r=8', () => false, { runs: 3 });
    expect(t).toMatchObject({ plan: 'tome', backend: 'wasm', runs: 3, baselineRuns: 3 });
    expect(t!.medianMs).toBeGreaterThan(0);
    expect(await session.time(input('d'), 'tome', () => true)).toBeNull();
  });

  it('useBackend rebuilds the weights on the new backend with the same logits', async () => {
    const a = await session.run(input('e'), 'tome:r=4');
    await session.useBackend('cpu');
    const b = await session.run(input('e'), 'tome:r=4');
    await session.useBackend('wasm');
    expect(b.backend).toBe('cpu');
    expect(b.trace.layers.map((l) => l.nOut)).toEqual(a.trace.layers.map((l) => l.nOut));
    b.logits.forEach((v, i) => expect(v).toBeCloseTo(a.logits[i], 3));
  });

  it('loadModel reads an exported model directory (HF names) by URL and disposes the model it replaces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenscope-model-'));
    try {
      const weights = randomWeights(config, 3);
      writeModelDir(dir, config, await weightsToTimm(config, weights));
      tf.dispose(listWeights(weights));
      const before = tf.memory().numTensors;
      const other = new EngineSession({ useBackend, fetchBytes: async (url) => new Uint8Array(readFileSync(join(dir, url))) });
      await other.useBackend('wasm');
      const info = await other.loadModel({ kind: 'url', name: 'exported', origin: { kind: 'bundled' }, configUrl: 'config.json', weightsUrl: 'model.safetensors' });
      expect(info).toMatchObject({ name: 'exported', untrained: false, config: { num_hidden_layers: 6, image_size: 28 } });
      const loaded = tf.memory().numTensors;
      await other.loadModel({ kind: 'url', name: 'again', origin: { kind: 'bundled' }, configUrl: 'config.json', weightsUrl: 'model.safetensors' });
      expect(tf.memory().numTensors).toBe(loaded);
      const r = await other.run(input('f'), 'tome:r=4');
      expect(r.modelName).toBe('again');
      other.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
