/**
 * Learning-rate schedule: linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay
 * to `floor` at `totalSteps`. Steps count from 0; the rate used for step s is `learningRate(s)`.
 *
 * A run lengthened on resume (`restart`) keeps its rate continuous: from `restart.step` on, the
 * rate follows a new cosine from `restart.lr` (the old schedule's rate at that step) down to
 * `floor` at the new `totalSteps`. (Steps before the restart are never asked for again: a resumed
 * run only moves forward.)
 */
export interface LrSchedule {
  peak: number;
  floor: number;
  warmupSteps: number;
  totalSteps: number;
  restart?: { step: number; lr: number };
}

export function learningRate(s: LrSchedule, step: number): number {
  const cosine = (from: number, start: number) => {
    const t = Math.min(1, (step - start) / Math.max(1, s.totalSteps - start));
    return s.floor + 0.5 * (from - s.floor) * (1 + Math.cos(Math.PI * t));
  };
  if (s.restart && step >= s.restart.step) return cosine(s.restart.lr, s.restart.step);
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  return cosine(s.peak, s.warmupSteps);
}
