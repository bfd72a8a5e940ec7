import { describe, expect, it } from 'vitest';
import { learningRate } from './schedule';

const s = { peak: 1e-3, floor: 1e-5, warmupSteps: 10, totalSteps: 110 };

describe('learningRate', () => {
  it('learningRate rises linearly over the warm-up and reaches the peak at its last step', () => {
    expect(learningRate(s, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 4)).toBeCloseTo(5e-4, 12);
    expect(learningRate(s, 9)).toBeCloseTo(1e-3, 12);
  });

  it('learningRate follows a cosine from the peak to the floor', () => {
    expect(learningRate(s, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 60)).toBeCloseTo((1e-3 + 1e-5) / 2, 12); // half way: cos(π/2) = 0
    expect(learningRate(s, 35)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.SQRT1_2), 12);
    expect(learningRate(s, 110)).toBeCloseTo(1e-5, 12);
    expect(learningRate(s, 500)).toBeCloseTo(1e-5, 12);
  });

  it('learningRate after a restart follows a new cosine from the given rate, continuous at the restart step', () => {
    const r = { ...s, totalSteps: 210, restart: { step: 60, lr: 5e-4 } };
    expect(learningRate(r, 60)).toBeCloseTo(5e-4, 12);
    expect(learningRate(r, 135)).toBeCloseTo((5e-4 + 1e-5) / 2, 12);
    expect(learningRate(r, 210)).toBeCloseTo(1e-5, 12);
  });
});
