/**
 * The compare page's lesson: accuracy against FLOPs on the Pareto plot. A step names the points it
 * is about by rule (the unreduced model; a method's point nearest a share of the unreduced GFLOPs;
 * another method's point nearest that one; the front), never by value: the page picks them from
 * its own sweep, outlines them on the plot and fills the text's `{slots}` from their rows. Change
 * the images or the methods and the points and numbers follow.
 */
import type { MethodId } from '../../reduce/types';
import type { SweepResult, SweepRow } from '../compare/protocol';
import { type Metric, metricValue, paretoFront, percentOfBase } from '../compare/rows';
import { fmtGflops, fmtPercent, methodLabel } from '../compare/views/marks';
import type { TryIt } from './types';

export type PointRule =
  | { kind: 'unreduced' }
  /** The method's point with GFLOPs nearest `fraction` of the unreduced model's. */
  | { kind: 'nearest'; method: MethodId; fraction: number }
  /** The method's point with GFLOPs nearest those of the step's point `to`. */
  | { kind: 'match'; method: MethodId; to: string };

export interface CompareStep {
  title: string;
  /** 2–4 sentences with `{slots}`: `<key>-plan`, `-method`, `-gflops`, `-percent`, `-accuracy`, `-agreement`, `-overhead` for each point, and the page-wide names of `paretoLive`. */
  text: string;
  formula?: string;
  /** Points by key ('a', 'b', …), picked in order (a `match` may name an earlier key). */
  points: Record<string, PointRule>;
  /** Outline the Pareto front's points too. */
  front?: boolean;
  tryIt?: Extract<TryIt, { kind: 'link' }>;
}

export interface CompareLesson {
  id: string;
  title: string;
  summary: string;
  needs: string;
  /** The methods the steps name: the link from the index asks the page to sweep these. */
  methods: MethodId[];
  steps: CompareStep[];
}

export const PARETO_LESSON: CompareLesson = {
  id: 'pareto',
  title: 'Accuracy against FLOPs: the Pareto plot',
  summary: 'Every plan as a point; merging against pruning at equal cost; the front; why FLOPs are not time.',
  needs: 'the compare page on the bundled model and set (a sweep of a few methods)',
  methods: ['tome', 'pitome', 'evit', 'topk'],
  steps: [
    {
      title: 'The unreduced model',
      text: 'The outlined star is the unreduced model: {base-gflops} GFLOPs per image and a top-1 accuracy of {base-accuracy} on the first {images} images of the bundled set. Every other point is one plan, evaluated on the same images in this browser.',
      points: { base: { kind: 'unreduced' } },
    },
    {
      title: 'A point is a plan',
      text: 'The outlined point is {a-method} with {a-plan}: it costs {a-gflops} GFLOPs, {a-percent} of the unreduced model, and scores {a-accuracy}. Left is cheaper, up is better.',
      points: { a: { kind: 'nearest', method: 'tome', fraction: 0.6 } },
    },
    {
      title: 'Merging against pruning, at equal cost',
      text: 'Near the same cost, {b-method} ({b-plan}, {b-gflops} GFLOPs) scores {b-accuracy}; {a-method} scores {a-accuracy}. On a small model a patch is a large part of the picture: pruning throws what it held away, merging keeps it in a mean. Neither model was trained to be reduced.',
      points: { a: { kind: 'nearest', method: 'tome', fraction: 0.6 }, b: { kind: 'match', method: 'topk', to: 'a' } },
    },
    {
      title: 'Fusing what is pruned',
      text: '{b-method} drops the same tokens as top-k but fuses them into one: at {b-gflops} GFLOPs it scores {b-accuracy}, against top-k’s {a-accuracy} at {a-gflops}. One fused token keeps only an average of many patches: compare this gap with merging’s in the step before.',
      points: { a: { kind: 'nearest', method: 'topk', fraction: 0.6 }, b: { kind: 'match', method: 'evit', to: 'a' } },
    },
    {
      title: 'The Pareto front',
      text: 'The outlined {front-count} points are the front: no other point is both cheaper and better. The methods on it: {front-methods}. A method below the front is beaten at its own cost.',
      points: {},
      front: true,
    },
    {
      title: 'FLOPs are not time',
      text: 'The axis counts the model’s FLOPs only. {a-method} at {a-plan} spends {a-overhead} GFLOPs of its own on matching, off the axis, and many small steps that a backend may run slower than the FLOPs suggest. The playground measures the time.',
      points: { a: { kind: 'nearest', method: 'tome', fraction: 0.6 } },
      tryIt: { kind: 'link', label: 'Measure it: the playground’s cost lesson.', href: 'index.html?lesson=cost&step=4' },
    },
  ],
};

export const COMPARE_LESSONS: readonly CompareLesson[] = [PARETO_LESSON];

export function findCompareLesson(id: string | null): CompareLesson | null {
  return COMPARE_LESSONS.find((l) => l.id === id) ?? null;
}

/** The index's link to a compare lesson: step 1, sweeping the methods it names. */
export const compareLessonHref = (l: CompareLesson) => `compare.html?lesson=${l.id}&step=1&methods=${l.methods.join(',')}`;

const nearest = (rows: SweepRow[], gflops: number) =>
  rows.reduce<SweepRow | null>((best, r) => (best === null || Math.abs(r.gflops - gflops) < Math.abs(best.gflops - gflops) ? r : best), null);

/** The step's points in this sweep, by key; a point whose method is not in the sweep is absent. */
export function pickPoints(step: CompareStep, result: SweepResult): Record<string, SweepRow> {
  const picked: Record<string, SweepRow> = {};
  const base = result.rows[0];
  for (const [key, rule] of Object.entries(step.points)) {
    if (rule.kind === 'unreduced') {
      picked[key] = base;
      continue;
    }
    const rows = result.rows.filter((r) => r.method === rule.method);
    const target = rule.kind === 'nearest' ? rule.fraction * base.gflops : picked[rule.to]?.gflops;
    const row = target === undefined ? null : nearest(rows, target);
    if (row) picked[key] = row;
  }
  return picked;
}

export interface ParetoLive {
  values: Record<string, string>;
  /** Plans of the outlined points. */
  highlighted: string[];
}

/** The step's live numbers, all from the page's own sweep, and the points to outline. */
export function paretoLive(step: CompareStep, result: SweepResult, metric: Metric): ParetoLive {
  const base = result.rows[0];
  const front = paretoFront(result.rows, metric);
  const values: Record<string, string> = {
    images: String(result.data.n),
    model: result.model.name,
    'base-gflops': fmtGflops(base.gflops),
    'base-accuracy': fmtPercent(base.accuracy),
    'front-count': String(front.length),
    'front-methods': [...new Set(front.map((r) => methodLabel(r.method)))].join(', '),
  };
  const points = pickPoints(step, result);
  for (const [key, r] of Object.entries(points)) {
    values[`${key}-plan`] = r.plan;
    values[`${key}-method`] = methodLabel(r.method);
    values[`${key}-gflops`] = fmtGflops(r.gflops);
    values[`${key}-percent`] = `${percentOfBase(r, result).toFixed(1)}%`;
    values[`${key}-accuracy`] = fmtPercent(metricValue(r, 'accuracy'));
    values[`${key}-agreement`] = fmtPercent(r.agreement);
    values[`${key}-overhead`] = fmtGflops(r.overheadGflops);
  }
  const highlighted = [...Object.values(points).map((r) => r.plan), ...(step.front ? front.map((r) => r.plan) : [])];
  return { values, highlighted: [...new Set(highlighted)] };
}
