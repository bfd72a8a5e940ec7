import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { formatTable, parseBenchArgs } from '../cli/bench';
import { numTokens } from '../model/config';
import { listWeights, randomWeights } from '../model/weights';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import { useWasmBackend } from '../../tests/helpers/tf';
import { benchPlans } from './bench';
import { scheduledFlops } from './plan-flops';
import { TINY_VIT } from '../../tests/helpers/tiny-vit';

useWasmBackend();

const config = TINY_VIT;

describe('benchPlans', () => {
  it('benchPlans reports latencies, the FLOP ratio of the produced counts and the realized fraction', async () => {
    const model = { config, weights: randomWeights(config, 1) };
    const rows = await benchPlans(model, ['tome:r=2', 'ats'], { batch: 2, runs: 2, warmup: 0 });
    expect(rows.map((r) => r.plan)).toEqual(['tome:r=2', 'ats']);
    const tome = rows[0];
    const scheduled = scheduledFlops(config, compilePlan(planFromText('tome:r=2', 4), config))!;
    const base = scheduledFlops(config, compilePlan(planFromText('none', 4), config))!;
    expect(tome.flop_ratio).toBeCloseTo(base.report.model / scheduled.report.model, 3);
    expect(tome.tokens).toEqual(scheduled.counts);
    expect(tome.realized).toBeCloseTo(tome.speedup / tome.flop_ratio, 2);
    expect(tome.batch).toBe(2);
    expect(tome.backend).toBe('wasm');
    // dispatches: kernel calls on wasm; ToMe reduces in all 4 blocks and adds its decision's kernels
    expect(tome.reducing_blocks).toBe(4);
    expect(tome.dispatches_plan).toBeGreaterThan(tome.dispatches_base);
    expect(tome.dispatches_per_reducing_block).toBeCloseTo((tome.dispatches_plan - tome.dispatches_base) / 4, 1);
    for (const r of rows) {
      for (const key of ['ms_base', 'ms_plan', 'first_ms_plan', 'second_ms_plan', 'peak_mb_plan'] as const) expect(r[key]).toBeGreaterThan(0);
    }
    // ATS: per-image counts, averaged; never more than the input
    expect(rows[1].tokens[0]).toBe(numTokens(config));
    expect(Math.max(...rows[1].tokens)).toBeLessThanOrEqual(numTokens(config));
    tf.dispose(listWeights(model.weights));
  });

  it('parseBenchArgs reads the batch list and defaults to the suite; formatTable prints one row per result', () => {
    const args = parseBenchArgs({ batch: '1,32', plan: ['tome:r=13'] });
    expect(args).toMatchObject({ arch: 'deit-t', plans: ['tome:r=13'], batches: [1, 32] });
    expect(parseBenchArgs({}).plans.length).toBeGreaterThan(3);
    expect(() => parseBenchArgs({ batch: '0' })).toThrowError(expect.objectContaining({ code: 'param-out-of-range' }));
    const row = {
      plan: 'tome:r=13',
      batch: 1,
      ms_base: 80,
      ms_plan: 50,
      speedup: 1.6,
      flop_ratio: 1.7,
      realized: 0.94,
      first_ms_plan: 120,
      second_over_steady: 1.01,
      peak_mb_plan: 35,
      dispatches_base: 900,
      dispatches_plan: 1000,
      dispatches_per_reducing_block: 8.3,
    };
    const table = formatTable([row as never]).split('\n');
    expect(table).toHaveLength(2);
    expect(table[1]).toContain('tome:r=13');
    expect(table[1]).toContain('0.94');
    expect(table[1]).toContain('1000 / 900');
    expect(table[1]).toMatch(/8\.3$/);
  });
});
