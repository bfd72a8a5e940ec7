/**
 * Published figures from the papers and READMEs, as quoted in ../shared/spec/token-reduction.md
 * (the section is named on each row). They are DeiT on ImageNet-1k at 224 px, mostly with
 * training or fine-tuning under the method: a different model, data set and regime from the live
 * curves, so the page shows them in their own table and never on the live plot.
 *
 * `tag` keeps the spec's provenance tags: README (the official repository's README),
 * 3rd-party (issue threads, aggregator pages), paper? (from the paper, not verified).
 */
import type { MethodId } from '../../reduce/types';

export interface ReferenceFigure {
  method: MethodId | 'none';
  model: 'DeiT-S' | 'DeiT-T';
  setting: string;
  top1: number;
  /** fvcore convention (EViT: torchprofile MACs, the same at this precision). */
  gflops: number;
  /** The unreduced model's GFLOPs in the same source, for the relative cost. */
  baseGflops: number;
  regime: 'trained with the method' | 'off-the-shelf' | 'unreduced';
  tag: 'README' | '3rd-party' | 'paper?';
  spec: string;
}

const S = 4.6;
const T = 1.26;

export const REFERENCE_FIGURES: readonly ReferenceFigure[] = [
  { method: 'none', model: 'DeiT-S', setting: 'unreduced', top1: 79.8, gflops: S, baseGflops: S, regime: 'unreduced', tag: 'README', spec: '§3.7, §6.8' },
  { method: 'tome', model: 'DeiT-S', setting: 'r=8', top1: 79.7, gflops: 3.4, baseGflops: S, regime: 'trained with the method', tag: '3rd-party', spec: '§2.10' },
  { method: 'tome', model: 'DeiT-S', setting: 'r=13', top1: 79.4, gflops: 2.7, baseGflops: S, regime: 'trained with the method', tag: '3rd-party', spec: '§2.10' },
  { method: 'tome', model: 'DeiT-S', setting: 'r=16', top1: 79.1, gflops: 2.3, baseGflops: S, regime: 'trained with the method', tag: '3rd-party', spec: '§2.10' },
  { method: 'evit', model: 'DeiT-S', setting: 'keep 0.9, fusion', top1: 79.8, gflops: 4.0, baseGflops: S, regime: 'trained with the method', tag: 'README', spec: '§3.7' },
  { method: 'evit', model: 'DeiT-S', setting: 'keep 0.7, fusion', top1: 79.5, gflops: 3.0, baseGflops: S, regime: 'trained with the method', tag: 'README', spec: '§3.7' },
  { method: 'evit', model: 'DeiT-S', setting: 'keep 0.5, fusion', top1: 78.5, gflops: 2.3, baseGflops: S, regime: 'trained with the method', tag: 'README', spec: '§3.7' },
  { method: 'topk', model: 'DeiT-S', setting: 'keep 0.9, no fusion (EViT)', top1: 79.9, gflops: 4.0, baseGflops: S, regime: 'trained with the method', tag: 'README', spec: '§3.7' },
  { method: 'topk', model: 'DeiT-S', setting: 'keep 0.7, no fusion (EViT)', top1: 79.4, gflops: 3.0, baseGflops: S, regime: 'trained with the method', tag: 'README', spec: '§3.7' },
  { method: 'topk', model: 'DeiT-S', setting: 'keep 0.5, no fusion (EViT)', top1: 78.4, gflops: 2.3, baseGflops: S, regime: 'trained with the method', tag: 'README', spec: '§3.7' },
  { method: 'ats', model: 'DeiT-S', setting: 'released defaults (reproduction)', top1: 79.13, gflops: 3.4, baseGflops: S, regime: 'off-the-shelf', tag: '3rd-party', spec: '§4.8' },
  { method: 'mctf', model: 'DeiT-S', setting: 'r=16, blocks 1–11', top1: 80.1, gflops: 2.6, baseGflops: 4.61, regime: 'trained with the method', tag: 'README', spec: '§6.8' },
  { method: 'mctf', model: 'DeiT-S', setting: 'Fast: 35 % at blocks 3, 6, 9', top1: 80.1, gflops: 2.76, baseGflops: 4.61, regime: 'trained with the method', tag: 'README', spec: '§6.8' },
  { method: 'none', model: 'DeiT-T', setting: 'unreduced', top1: 72.2, gflops: T, baseGflops: T, regime: 'unreduced', tag: 'README', spec: '§6.8' },
  { method: 'tome', model: 'DeiT-T', setting: 'r=8', top1: 71.7, gflops: 0.9, baseGflops: T, regime: 'trained with the method', tag: '3rd-party', spec: '§2.10' },
  { method: 'tome', model: 'DeiT-T', setting: 'r=16', top1: 70.7, gflops: 0.6, baseGflops: T, regime: 'trained with the method', tag: '3rd-party', spec: '§2.10' },
  { method: 'mctf', model: 'DeiT-T', setting: 'r=16, blocks 1–11', top1: 72.7, gflops: 0.71, baseGflops: T, regime: 'trained with the method', tag: 'README', spec: '§6.8' },
];

/** Methods with no DeiT table in their sources, and why. */
export const REFERENCE_GAPS: Readonly<Partial<Record<MethodId, string>>> = {
  pitome: 'PiToMe publishes no DeiT ImageNet table (README has none; the abstract claims 40–60 % fewer FLOPs) — spec §5.8.',
};
