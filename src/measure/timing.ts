/**
 * Wall-clock timing as a user feels it, for comparing candidates measured in the same run.
 *
 * - The clock is read after the candidate's promise settles: a run must await its result (read the
 *   logits back), or GPU backends would be timed at dispatch.
 * - Each candidate's first call is timed apart (`firstMs`: kernel set-up, shader compilation,
 *   buffer allocation), and so is the call right after it (`secondMs`: what is left once the first
 *   compiled everything, the number a user sees when running the same plan again).
 * - Then `warmup` rounds are discarded, and `runs` rounds are timed. Every round runs each
 *   candidate once, in an order rotated from round to round, so a slow stretch of a shared machine
 *   falls on all candidates alike. Ratios of medians from one such run are the reported numbers.
 * - With `settled`, each timed call comes right after an untimed call of the same candidate: the
 *   time of a plan run again and again, without what switching from another candidate costs the
 *   backend (WebGL re-creates the textures of the shapes the previous plan released, src/model/gpu-memory.ts).
 *
 * Browser-safe (no Node imports): the CLI and the bench page use the same code.
 */

export interface Candidate {
  name: string;
  /** One complete run; resolves once its result has been read back. */
  run: () => Promise<unknown>;
}

export interface TimingOptions {
  /** Discarded rounds after the first and second calls (default 2). */
  warmup?: number;
  /** Timed rounds (default 10). */
  runs?: number;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
  /** Time each call after an untimed call of the same candidate (default false). */
  settled?: boolean;
}

export interface Timing {
  name: string;
  firstMs: number;
  secondMs: number;
  /** The timed rounds, in order. */
  samplesMs: number[];
  medianMs: number;
  minMs: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Times the candidates interleaved (see the module comment). Names must be unique. */
export async function timeInterleaved(candidates: readonly Candidate[], options: TimingOptions = {}): Promise<Timing[]> {
  const { warmup = 2, runs = 10, now = () => performance.now(), settled = false } = options;
  const timeOne = async (c: Candidate) => {
    const start = now();
    await c.run();
    return now() - start;
  };
  const first: number[] = [];
  const second: number[] = [];
  for (const c of candidates) {
    first.push(await timeOne(c));
    second.push(await timeOne(c));
  }
  const samples: number[][] = candidates.map(() => []);
  for (let round = 0; round < warmup + runs; round++) {
    for (let k = 0; k < candidates.length; k++) {
      const i = (k + round) % candidates.length;
      if (settled) await candidates[i].run();
      const ms = await timeOne(candidates[i]);
      if (round >= warmup) samples[i].push(ms);
    }
  }
  return candidates.map((c, i) => ({
    name: c.name,
    firstMs: first[i],
    secondMs: second[i],
    samplesMs: samples[i],
    medianMs: median(samples[i]),
    minMs: Math.min(...samples[i]),
  }));
}
