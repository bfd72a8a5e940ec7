import { describe, expect, it } from 'vitest';
import { median, timeInterleaved } from './timing';

describe('timing', () => {
  it('median takes the middle value, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("timeInterleaved times each candidate's first two calls apart, discards warm-up, and rotates the order each round", async () => {
    let clock = 0;
    const order: string[] = [];
    // each call of a candidate advances the fake clock by its cost; the first call costs 100 more
    const make = (name: string, cost: number) => {
      let calls = 0;
      return {
        name,
        run: async () => {
          order.push(name);
          clock += cost + (calls++ === 0 ? 100 : 0);
        },
      };
    };
    const [a, b] = await timeInterleaved([make('a', 10), make('b', 30)], { warmup: 1, runs: 3, now: () => clock });
    expect(a).toMatchObject({ name: 'a', firstMs: 110, secondMs: 10, samplesMs: [10, 10, 10], medianMs: 10, minMs: 10 });
    expect(b).toMatchObject({ name: 'b', firstMs: 130, secondMs: 30, medianMs: 30 });
    // first and second call of each, then rounds a,b / b,a / a,b / b,a (warm-up round included)
    expect(order).toEqual(['a', 'a', 'b', 'b', 'a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
  });

  it('settled times each call right after an untimed call of the same candidate, so a cost of switching candidates drops out', async () => {
    let clock = 0;
    let last = '';
    // a call costs its own 10 ms, plus 50 ms when the call before it was another candidate's
    const make = (name: string) => ({
      name,
      run: async () => {
        clock += 10 + (last === name ? 0 : 50);
        last = name;
      },
    });
    const interleaved = await timeInterleaved([make('a'), make('b')], { warmup: 0, runs: 2, now: () => clock });
    // rounds a,b then b,a: only b's second sample follows b
    expect(interleaved.map((t) => t.samplesMs)).toEqual([
      [60, 60],
      [60, 10],
    ]);
    last = '';
    const settled = await timeInterleaved([make('a'), make('b')], { warmup: 0, runs: 2, now: () => clock, settled: true });
    expect(settled.map((t) => t.samplesMs)).toEqual([
      [10, 10],
      [10, 10],
    ]);
  });
});
