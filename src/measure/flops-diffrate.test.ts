import { describe, expect, it } from 'vitest';
import { archConfig } from '../model/config';
import { compilePlan } from '../reduce/compile';
import { diffrateOfficialFlops } from '../reduce/diffrate-schedules';
import { planFromText } from '../reduce/plan';
import { scheduledFlops } from './plan-flops';

function run(arch: string, plan: string) {
  const config = archConfig(arch);
  const result = scheduledFlops(config, compilePlan(planFromText(plan, 12), config));
  if (!result) throw new Error('expected a fixed schedule');
  return { counts: result.counts, model: result.report.model / 1e9, total: result.report.total / 1e9 };
}

/**
 * docs/METHODS.md#diffrate: tokens entering blocks 0..11 and leaving block 11 for every published
 * schedule, DiffRate's own counter (what its README prints), fvcore, and fvcore with the merge
 * similarity matmuls. Hand-computed from the schedules by the rules there, independently of the code.
 */
const TABLE: [string, string, string, number, number, number][] = [
  ['deit-t', '0.6', '197,197,187,167,139,114,90,76,66,57,45,37,3', 0.655, 0.6572, 0.6594],
  ['deit-t', '0.7', '197,197,196,192,158,133,103,88,72,64,58,49,3', 0.727, 0.7292, 0.7311],
  ['deit-t', '0.8', '197,197,196,190,172,154,125,107,96,84,78,70,3', 0.809, 0.8116, 0.8138],
  ['deit-t', '0.9', '197,197,196,194,188,172,147,129,115,107,103,96,3', 0.902, 0.9053, 0.9071],
  ['deit-t', '1.0', '197,197,197,196,190,186,154,148,148,145,135,125,21', 1.004, 1.0072, 1.0087],
  ['deit-s', '2.3', '197,197,180,156,127,109,98,80,66,52,37,31,3', 2.327, 2.3317, 2.3357],
  ['deit-s', '2.5', '197,197,186,160,133,119,107,96,82,66,43,37,3', 2.505, 2.5095, 2.5141],
  ['deit-s', '2.7', '197,197,188,170,147,131,119,109,96,76,54,45,3', 2.709, 2.7144, 2.7186],
  ['deit-s', '2.9', '197,197,194,176,156,141,133,121,107,88,64,56,3', 2.905, 2.9109, 2.915],
  ['deit-s', '3.1', '197,197,196,186,164,150,141,133,121,103,78,68,3', 3.108, 3.114, 3.1182],
];

describe('DiffRate schedules and FLOPs (docs/METHODS.md#diffrate)', () => {
  for (const [arch, target, counts, official, fvcore, withMerge] of TABLE) {
    it(`${arch} target ${target}: tokens ${counts}, ${official} G official, ${fvcore} G fvcore, ${withMerge} G with the merge matmuls`, () => {
      const r = run(arch, `diffrate:target_flops=${target}`);
      expect(r.counts).toEqual(counts.split(',').map(Number));
      expect(Math.abs(r.model - fvcore)).toBeLessThanOrEqual(0.00006);
      expect(Math.abs(r.total - withMerge)).toBeLessThanOrEqual(0.00006);
      const hidden = archConfig(arch).hidden_size;
      expect(Math.abs(diffrateOfficialFlops(r.counts.slice(0, 12), r.counts.slice(1), hidden) / 1e9 - official)).toBeLessThanOrEqual(0.0006);
    });
  }

  it("the README's DeiT-S 2.9 headline prints 'flops 2.905' from DiffRate's own counter", () => {
    const r = run('deit-s', 'diffrate:target_flops=2.9');
    expect(diffrateOfficialFlops(r.counts.slice(0, 12), r.counts.slice(1), 384) / 1e9).toBeCloseTo(2.905, 3);
  });

  it('the derived default (target_flops=0) reproduces DeiT-S 2.9 on DeiT geometry, whatever the width', () => {
    expect(run('deit-t', 'diffrate').counts).toEqual(TABLE[8][2].split(',').map(Number));
  });
});
