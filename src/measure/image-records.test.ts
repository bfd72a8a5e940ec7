import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureConfig, writeFixtureModel } from '../../tests/helpers/image-folder';
import { expectNoLeak, useWasmBackend } from '../../tests/helpers/tf';
import { disposeCheckpoint, loadCheckpoint } from '../io/checkpoint';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import { scoreBatch, topIndices } from './image-records';

useWasmBackend();
const root = mkdtempSync(join(tmpdir(), 'tokenscope-records-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('image records', () => {
  it('topIndices returns the k largest, larger first, ties to the lower index', () => {
    expect(topIndices([0.1, 0.3, 0.3, 0.2, 0.05], 3)).toEqual([1, 2, 3]);
    expect(topIndices([2, 2, 2], 5)).toEqual([0, 1, 2]);
    expect(topIndices([-1, 5, 0], 1)).toEqual([1]);
  });

  it('scoreBatch gives every plan per image, KL 0 for the unreduced model, and leaks no tensor', async () => {
    writeFixtureModel(root);
    const loaded = loadCheckpoint({
      safetensors: new Uint8Array(readFileSync(join(root, 'model.safetensors'))),
      config: JSON.parse(readFileSync(join(root, 'config.json'), 'utf8')),
    });
    try {
      const entries = ['none', 'tome:r=2', 'ats'].map((plan) => ({ plan, compiled: compilePlan(planFromText(plan, 4), loaded.config) }));
      const S = fixtureConfig.image_size;
      const pixels = Float32Array.from({ length: 3 * S * S * 3 }, (_, i) => Math.sin(i * 0.37));
      const results = await expectNoLeak(() => scoreBatch(loaded.model, entries, pixels, 3));
      expect(results).toHaveLength(3);
      for (const r of results) {
        expect(Object.keys(r)).toEqual(['none', 'tome:r=2', 'ats']);
        expect(r.none.kl).toBe(0);
        expect(r.none.tokens).toEqual([17, 17, 17, 17, 17]);
        expect(r['tome:r=2'].tokens).toEqual([17, 15, 13, 11, 9]);
        expect(r['tome:r=2'].gflops).toBeLessThan(r.none.gflops);
        for (const p of Object.values(r)) {
          expect(p.top5).toHaveLength(4); // four classes
          expect(p.prob5.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
          expect([...p.prob5].sort((a, b) => b - a)).toEqual(p.prob5);
          expect(p.kl).toBeGreaterThanOrEqual(0);
        }
      }
      // The same image alone gives the same record: nothing leaks between the images of a batch.
      const alone = await scoreBatch(loaded.model, entries, pixels.subarray(S * S * 3, 2 * S * S * 3), 1);
      expect(alone[0]['tome:r=2'].top5).toEqual(results[1]['tome:r=2'].top5);
      expect(alone[0].ats.tokens).toEqual(results[1].ats.tokens);
    } finally {
      disposeCheckpoint(loaded);
    }
  });
});
