/**
 * Published figures from the papers and READMEs, as documented in docs/METHODS.md (the section
 * is named on each row: docs/METHODS.md#<section>). They are DeiT on ImageNet-1k at 224 px, mostly
 * with training or fine-tuning under the method: a different model, data set and regime from the
 * live curves, so the page shows them in their own table and never on the live plot.
 *
 * `tag` says where a figure comes from: README (the official repository's README),
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
  /** The docs/METHODS.md section (anchor) that quotes the figure. */
  section: 'baselines' | MethodId;
}

const S = 4.6;
const T = 1.26;

export const REFERENCE_FIGURES: readonly ReferenceFigure[] = [
  { method: 'none', model: 'DeiT-S', setting: 'unreduced', top1: 79.8, gflops: S, baseGflops: S, regime: 'unreduced', tag: 'README', section: 'baselines' },
  { method: 'tome', model: 'DeiT-S', setting: 'r=8', top1: 79.7, gflops: 3.4, baseGflops: S, regime: 'trained with the method', tag: '3rd-party', section: 'tome' },
  { method: 'tome', model: 'DeiT-S', setting: 'r=13', top1: 79.4, gflops: 2.7, baseGflops: S, regime: 'trained with the method', tag: '3rd-party', section: 'tome' },
  { method: 'tome', model: 'DeiT-S', setting: 'r=16', top1: 79.1, gflops: 2.3, baseGflops: S, regime: 'trained with the method', tag: '3rd-party', section: 'tome' },
  {
    method: 'evit',
    model: 'DeiT-S',
    setting: 'keep 0.9, fusion',
    top1: 79.8,
    gflops: 4.0,
    baseGflops: S,
    regime: 'trained with the method',
    tag: 'README',
    section: 'evit',
  },
  {
    method: 'evit',
    model: 'DeiT-S',
    setting: 'keep 0.7, fusion',
    top1: 79.5,
    gflops: 3.0,
    baseGflops: S,
    regime: 'trained with the method',
    tag: 'README',
    section: 'evit',
  },
  {
    method: 'evit',
    model: 'DeiT-S',
    setting: 'keep 0.5, fusion',
    top1: 78.5,
    gflops: 2.3,
    baseGflops: S,
    regime: 'trained with the method',
    tag: 'README',
    section: 'evit',
  },
  {
    method: 'topk',
    model: 'DeiT-S',
    setting: 'keep 0.9, no fusion (EViT)',
    top1: 79.9,
    gflops: 4.0,
    baseGflops: S,
    regime: 'trained with the method',
    tag: 'README',
    section: 'topk',
  },
  {
    method: 'topk',
    model: 'DeiT-S',
    setting: 'keep 0.7, no fusion (EViT)',
    top1: 79.4,
    gflops: 3.0,
    baseGflops: S,
    regime: 'trained with the method',
    tag: 'README',
    section: 'topk',
  },
  {
    method: 'topk',
    model: 'DeiT-S',
    setting: 'keep 0.5, no fusion (EViT)',
    top1: 78.4,
    gflops: 2.3,
    baseGflops: S,
    regime: 'trained with the method',
    tag: 'README',
    section: 'topk',
  },
  {
    method: 'ats',
    model: 'DeiT-S',
    setting: 'released defaults (reproduction)',
    top1: 79.13,
    gflops: 3.4,
    baseGflops: S,
    regime: 'off-the-shelf',
    tag: '3rd-party',
    section: 'ats',
  },
  {
    method: 'mctf',
    model: 'DeiT-S',
    setting: 'r=16, blocks 1–11',
    top1: 80.1,
    gflops: 2.6,
    baseGflops: 4.61,
    regime: 'trained with the method',
    tag: 'README',
    section: 'mctf',
  },
  {
    method: 'mctf',
    model: 'DeiT-S',
    setting: 'Fast: 35 % at blocks 3, 6, 9',
    top1: 80.1,
    gflops: 2.76,
    baseGflops: 4.61,
    regime: 'trained with the method',
    tag: 'README',
    section: 'mctf',
  },
  {
    method: 'diffrate',
    model: 'DeiT-S',
    setting: 'published schedule 2.9 (DiffRate counter)',
    top1: 79.54,
    gflops: 2.905,
    baseGflops: S,
    regime: 'off-the-shelf',
    tag: 'README',
    section: 'diffrate',
  },
  {
    method: 'ppt',
    model: 'DeiT-S',
    setting: 'r=50 at 3/6/9, τ=7e-5 (torchprofile)',
    top1: 79.498,
    gflops: 2.944,
    baseGflops: S,
    regime: 'off-the-shelf',
    tag: 'README',
    section: 'ppt',
  },
  { method: 'none', model: 'DeiT-T', setting: 'unreduced', top1: 72.2, gflops: T, baseGflops: T, regime: 'unreduced', tag: 'README', section: 'baselines' },
  { method: 'tome', model: 'DeiT-T', setting: 'r=8', top1: 71.7, gflops: 0.9, baseGflops: T, regime: 'trained with the method', tag: '3rd-party', section: 'tome' },
  { method: 'tome', model: 'DeiT-T', setting: 'r=16', top1: 70.7, gflops: 0.6, baseGflops: T, regime: 'trained with the method', tag: '3rd-party', section: 'tome' },
  {
    method: 'mctf',
    model: 'DeiT-T',
    setting: 'r=16, blocks 1–11',
    top1: 72.7,
    gflops: 0.71,
    baseGflops: T,
    regime: 'trained with the method',
    tag: 'README',
    section: 'mctf',
  },
];

/** Methods with no DeiT table in their sources, and why. */
export const REFERENCE_GAPS: Readonly<Partial<Record<MethodId, string>>> = {
  gtp: "GTP's README tables are for DeiT-B only (81.93 % at P=1 to 80.11 % at P=14, off-the-shelf); its DeiT-S/T tables were not available to us — docs/METHODS.md#gtp.",
  atc: "ATC's README releases fine-tuned DeiT models, but its accuracy tables were not available to us — docs/METHODS.md#atc.",
  pitome: 'PiToMe publishes no DeiT ImageNet table (README has none; the abstract claims 40–60 % fewer FLOPs) — docs/METHODS.md#pitome.',
};
