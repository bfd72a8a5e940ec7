import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sweepCommand } from '../../cli/sweep';
import { useBackend } from '../../model/backend';
import { parseConfig } from '../../model/config';
import { listWeights, randomWeights, weightsToTimm } from '../../model/weights';
import { writeModelDir } from '../../train/export';
import { FALLBACK_CONFIG_JSON, FALLBACK_SEED } from '../model/fallback';
import { MemoryCache } from './cache';
import type { EvalData } from './protocol';
import { CompareSession } from './session';

const SET = 'public/data/fmnist-test-1000.bin';
const work = mkdtempSync(join(tmpdir(), 'tokenscope-compare-'));
const bundled = (limit: number): EvalData => ({ kind: 'bundled', url: SET, name: 'data/fmnist-test-1000.bin', limit });

let session: CompareSession;
let cache: MemoryCache;

async function cli(args: string[]): Promise<unknown[]> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await sweepCommand.run(args)).toBe(0);
    return JSON.parse(log.mock.calls.at(-1)![0] as string);
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  await useBackend('wasm');
  // The page's stand-in model, written as a model directory for the CLI.
  const config = parseConfig(FALLBACK_CONFIG_JSON);
  const w = randomWeights(config, FALLBACK_SEED);
  writeModelDir(join(work, 'model'), config, await weightsToTimm(config, w));
  tf.dispose(listWeights(w));
  cache = new MemoryCache();
  session = new CompareSession({ useBackend: async () => {}, fetchBytes: async (url) => new Uint8Array(readFileSync(url)), cache, batch: 10 });
  await session.useBackend('wasm');
  await session.loadModel({ kind: 'random', name: 'stand-in', configJson: FALLBACK_CONFIG_JSON, seed: FALLBACK_SEED });
});

afterAll(() => {
  session?.dispose();
  rmSync(work, { recursive: true, force: true });
});

const cliFields = (
  rows: { method: string; plan: string; gflops: number; accuracy: number | null; agreement: number; kl: number; param: string | null; value: number | null }[],
) => rows.map(({ method, plan, gflops, accuracy, agreement, kl, param, value }) => ({ method, plan, gflops, accuracy, agreement, kl, param, value }));

describe('CompareSession', () => {
  it('sweep gives exactly the points `tokenscope sweep --json` prints for the same images and batch', async () => {
    const result = await session.sweep(['tome', 'evit', 'ats'], bundled(20));
    const want = await cli(['--model', join(work, 'model'), '--eval-set', SET, '--limit', '20', '--batch', '10', '--methods', 'tome,evit,ats', '--json']);
    expect(cliFields(result.rows)).toEqual(want);
    expect(result.data).toMatchObject({ kind: 'bundled', n: 20, labelled: true });
    expect(result.rows.every((r) => !r.cached)).toBe(true);
  }, 60_000);

  it('sweep a second time reads every score from the cache', async () => {
    const again = await session.sweep(['tome', 'evit', 'ats'], bundled(20));
    expect(again.evaluated).toBe(0);
    expect(again.rows.every((r) => r.cached)).toBe(true);
  }, 30_000);

  it('equalBudget chooses the settings `tokenscope sweep --budget` chooses, ATS measured on the images', async () => {
    const result = await session.equalBudget(['tome', 'topk', 'ats'], bundled(10), '60%');
    const want = await cli([
      '--model',
      join(work, 'model'),
      '--eval-set',
      SET,
      '--limit',
      '10',
      '--batch',
      '10',
      '--methods',
      'tome,topk,ats',
      '--budget',
      '60%',
      '--json',
    ]);
    expect(cliFields(result.rows)).toEqual(want);
    expect(result.budget!.gflops).toBeCloseTo(0.6 * result.rows[0].gflops, 12);
    for (const r of result.rows.slice(1)) expect(r.gflops).toBeLessThanOrEqual(result.budget!.gflops);
  }, 90_000);

  it('sweep cancelled midway throws cancelled, leaves the tensor count unchanged and caches nothing from the unfinished pass', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const sizeBefore = cache.size;
    const run = session.sweep(['pitome', 'mctf'], bundled(60), {
      signal: controller.signal,
      onProgress: ({ done }) => done >= 10 && controller.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(tf.memory().numTensors).toBe(before);
    expect(cache.size).toBe(sizeBefore);
  }, 60_000);

  it('sweep on unlabelled images reports agreement and KL, and no accuracy', async () => {
    const S = 28;
    const pixels = new Float32Array(3 * S * S).map((_, i) => Math.sin(i) * 0.5);
    const result = await session.sweep(['topk'], { kind: 'images', name: 'three images', key: 'k1', count: 3, size: S, channels: 1, pixels, labels: null });
    expect(result.data).toMatchObject({ kind: 'images', n: 3, labelled: false });
    expect(result.rows.every((r) => r.accuracy === null)).toBe(true);
    expect(result.rows[0]).toMatchObject({ agreement: 1, kl: 0 });
  }, 30_000);

  it('traces returns one fate trace per plan and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const S = 28;
    const out = await session.traces({ key: 'x', size: S, channels: 1, pixels: new Float32Array(S * S).fill(0.1) }, ['none', 'topk:keep=0.5']);
    expect(out.runs.map((r) => r.plan)).toEqual(['none', 'topk:keep=0.5']);
    expect(out.runs[1].trace.layers.some((l) => l.target)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  }, 30_000);
});
