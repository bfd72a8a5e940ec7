/**
 * A plan carried over to a model of another depth (the user switched models): kept when it is
 * valid there, otherwise the nearest valid plan — layers past the last block dropped, a segment
 * left with no layers back on its method's default layers for the new depth, a segment that then
 * collides with an earlier one dropped — and the parser's message saying why it changed.
 */
import { formatPlan, parsePlan } from '../../reduce/plan';

export interface FittedPlan {
  plan: string;
  /** The parser's message for the original plan, when it had to change; null when it was kept. */
  problem: string | null;
}

/** Layers of a `layers=` value below `depth`, in the grammar's own syntax ('' when none is left). */
function clipLayers(value: string, depth: number): string {
  const kept: string[] = [];
  for (const item of value.split('/')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item.trim());
    if (!m) return value; // not ours to repair: the parser reports it
    const from = Number(m[1]);
    const to = Math.min(m[2] === undefined ? from : Number(m[2]), depth - 1);
    if (from <= to) kept.push(from === to ? String(from) : `${from}-${to}`);
  }
  return kept.join('/');
}

function repairSegment(segment: string, depth: number): string {
  return segment
    .replace(/(^|[:,])\s*layers=([^,]*)/, (_all, lead: string, value: string) => {
      const clipped = clipLayers(value, depth);
      return clipped === '' ? (lead === ':' ? ':' : '') : `${lead}layers=${clipped}`;
    })
    .replace(/:$/, '')
    .replace(/:,/, ':');
}

export function fitPlan(text: string, depth: number): FittedPlan {
  const parsed = parsePlan(text, depth);
  if (parsed.ok) return { plan: formatPlan(parsed.value), problem: null };
  const problem = parsed.error.message;
  const kept: string[] = [];
  for (const segment of text.split('+').map((s) => repairSegment(s.trim(), depth))) {
    const trial = parsePlan([...kept, segment].join('+'), depth);
    if (trial.ok) kept.push(segment);
  }
  const fitted = parsePlan(kept.join('+') || 'none', depth);
  return { plan: fitted.ok ? formatPlan(fitted.value) : 'none', problem };
}
