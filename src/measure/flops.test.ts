import { describe, expect, it } from 'vitest';
import { archConfig } from '../model/config';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import { scheduledFlops } from './plan-flops';

/** The figures docs/METHODS.md lists per method (#tome, #evit, #pitome, #mctf), GFLOPs in the fvcore convention at 224 px. */
function gflops(arch: string, plan: string) {
  const config = archConfig(arch);
  const result = scheduledFlops(config, compilePlan(planFromText(plan, 12), config));
  if (!result) throw new Error('expected a fixed schedule');
  return { gflops: result.report.model / 1e9, counts: result.counts, total: result.report.total / 1e9 };
}

describe('FLOPs against the published and computed figures of docs/METHODS.md (within 0.005 GFLOPs)', () => {
  const cases: [string, string, number][] = [
    ['deit-t', 'none', 1.258],
    ['deit-s', 'none', 4.608],
    ['vit-b', 'none', 17.583],
    ['deit-s', 'tome:r=8', 3.424],
    ['deit-t', 'tome:r=8', 0.928],
    ['vit-b', 'tome:r=8', 13.118],
    ['deit-s', 'tome:r=13', 2.708],
    ['deit-t', 'tome:r=13', 0.734],
    ['vit-b', 'tome:r=13', 10.378],
    ['deit-s', 'tome:r=16', 2.296],
    ['deit-t', 'tome:r=16', 0.624],
    ['vit-b', 'tome:r=16', 8.781],
    ['deit-s', 'tome:r=16,inflect=-1', 1.542],
    ['deit-s', 'evit:keep=0.9', 4.03],
    ['deit-s', 'evit:keep=0.8', 3.48],
    ['deit-s', 'evit:keep=0.7', 3.036],
    ['deit-s', 'evit:keep=0.6', 2.64],
    ['deit-s', 'evit:keep=0.5', 2.31],
    ['deit-b', 'evit:keep=0.7', 11.62],
    ['deit-t', 'evit:keep=0.7', 0.824],
    ['deit-s', 'pitome:ratio=0.9', 2.6],
    ['deit-s', 'pitome:ratio=0.925', 3.0],
    ['deit-s', 'pitome:ratio=0.95', 3.45],
    ['deit-s', 'pitome:ratio=0.975', 4.01],
  ];
  for (const [arch, plan, expected] of cases) {
    it(`${arch} '${plan}' costs ${expected} GFLOPs`, () => {
      expect(Math.abs(gflops(arch, plan).gflops - expected)).toBeLessThanOrEqual(0.005);
    });
  }

  it('MCTF r=16 at blocks 1-11 costs 2.600 (DeiT-S) and 0.708 (DeiT-T) with its similarity counted, as its README does', () => {
    expect(Math.abs(gflops('deit-s', 'mctf:r=16').total - 2.6)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(gflops('deit-t', 'mctf:r=16').total - 0.708)).toBeLessThanOrEqual(0.005);
  });
});

describe('token schedules against docs/METHODS.md', () => {
  it('ToMe r=13 enters the blocks with 197, 184, ..., 54 tokens and leaves 41', () => {
    expect(gflops('deit-s', 'tome:r=13').counts).toEqual([197, 184, 171, 158, 145, 132, 119, 106, 93, 80, 67, 54, 41]);
  });
  it('ToMe r=16 caps the last layer at r=10 and leaves 11 tokens', () => {
    expect(gflops('deit-s', 'tome:r=16').counts.slice(-3)).toEqual([37, 21, 11]);
  });
  it('ToMe (16, -1) follows the decreasing schedule', () => {
    expect(gflops('deit-s', 'tome:r=16,inflect=-1').counts).toEqual([197, 165, 136, 110, 87, 67, 50, 36, 25, 17, 12, 10, 10]);
  });
  it('EViT 0.7 goes 197 -> 140 -> 100 -> 72 with fusion and 197 -> 139 -> 98 -> 69 without', () => {
    const fused = gflops('deit-s', 'evit:keep=0.7').counts;
    const pruned = gflops('deit-s', 'topk:keep=0.7').counts;
    expect([fused[3], fused[4], fused[7], fused[10], fused[12]]).toEqual([197, 140, 100, 72, 72]);
    expect([pruned[3], pruned[4], pruned[7], pruned[10]]).toEqual([197, 139, 98, 69]);
  });
  it('PiToMe 0.9 enters with 197, 178, 161, ... and leaves 60 tokens', () => {
    expect(gflops('deit-s', 'pitome:ratio=0.9').counts).toEqual([197, 178, 161, 145, 131, 118, 107, 97, 88, 80, 73, 66, 60]);
  });
  it('MCTF r=16 at blocks 1-11 goes 197, 197, 181, ..., 21', () => {
    expect(gflops('deit-s', 'mctf:r=16').counts).toEqual([197, 197, 181, 165, 149, 133, 117, 101, 85, 69, 53, 37, 21]);
  });
});
