/**
 * Learning-rate schedule: linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay
 * to `floor` at `totalSteps`. Steps count from 0; the rate used for step s is `learningRate(s)`.
 */
export interface LrSchedule {
  peak: number;
  floor: number;
  warmupSteps: number;
  totalSteps: number;
}

export function learningRate(s: LrSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, (step - s.warmupSteps) / span);
  return s.floor + 0.5 * (s.peak - s.floor) * (1 + Math.cos(Math.PI * t));
}
