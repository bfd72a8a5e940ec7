/**
 * Where ToMe's time goes on WebGL (DeiT-T shapes, batch 1), in one headless Chromium page:
 *
 * 1. forwards of `none` and `tome:r=13` in two orders, under two GPU pool policies: interleaved
 *    (none, tome, none, …: what the bench does, each forward after the other plan) and warm (each
 *    plan run back to back: what a user re-running one plan sees), with 'keep-used' (the policy of
 *    src/model/gpu-memory.ts) and 'keep-all' (TF.js's own pool); plus the shader programs compiled
 *    by each steady-state forward (TF.js's binary cache), which should be 0;
 * 2. each of ToMe's WebGL programs alone at the shapes of DeiT-T's first reducing block, against
 *    that block's qkv matmul, each run `REPS` times between two reads.
 *
 * Usage: nice npx tsx tests/bench/webgl-tome-profile.ts   (ROUNDS=3 REPS=10 PLAN=tome:r=13)
 */
import { openBenchPage } from './bench-page-session';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const REPS = Number(process.env.REPS ?? 10);
const PLAN = process.env.PLAN ?? 'tome:r=13';
const PARTS = (process.env.PARTS ?? 'forwards,programs').split(',');

const { page, close } = await openBenchPage();
page.setDefaultTimeout(600_000);
try {
  const lines = await page.evaluate(
    async ([rounds, reps, planText, parts]) => {
      // no named helpers in here: tsx would wrap them in a __name() call the page does not have
      const tf = window.tf;
      const { useBackend } = await import(/* @vite-ignore */ '/src/app/engine/backends.ts' as string);
      const { archConfig } = await import(/* @vite-ignore */ '/src/model/config.ts' as string);
      const { listWeights, randomWeights } = await import(/* @vite-ignore */ '/src/model/weights.ts' as string);
      const { runForward, warmUp } = await import(/* @vite-ignore */ '/src/model/run.ts' as string);
      const { setGpuPoolPolicy } = await import(/* @vite-ignore */ '/src/model/gpu-memory.ts' as string);
      const { compilePlan } = await import(/* @vite-ignore */ '/src/reduce/compile.ts' as string);
      const { planFromText } = await import(/* @vite-ignore */ '/src/reduce/plan.ts' as string);
      const { tomeBestMatchGL } = await import(/* @vite-ignore */ '/src/reduce/webgl/tome-best-match.ts' as string);
      const { tomeDecideGL } = await import(/* @vite-ignore */ '/src/reduce/webgl/tome-decide.ts' as string);
      const { applyAssignmentGL, groupMeanGL } = await import(/* @vite-ignore */ '/src/tokens/webgl/apply-assignment.ts' as string);
      await useBackend('webgl');
      const config = archConfig('deit-t');
      const model = { config, weights: randomWeights(config, 1) };
      await warmUp(model, []);
      const pixels = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 1);
      const plans: Record<string, unknown> = {
        none: compilePlan(planFromText('none', 12), config),
        [planText as string]: compilePlan(planFromText(planText as string, 12), config),
      };
      const cache = (tf.backend() as unknown as { binaryCache: object }).binaryCache;
      const out: string[] = [];
      if ((parts as string[]).includes('forwards')) {
        const first = await runForward(model, pixels, plans.none);
        first.logits.dispose();
        // textures the pool had to create (its bytes grew) and the time spent in those acquires;
        // wrapped once, over the pool policy's own wrapper (which the forward just run installed), never restored
        const pool = (tf.backend() as unknown as { textureManager: { acquireTexture: (...a: unknown[]) => unknown; _numBytesAllocated: number } }).textureManager;
        const acquire = pool.acquireTexture;
        const created = { count: 0, bytes: 0, ms: 0 };
        pool.acquireTexture = function (...args: unknown[]) {
          const bytes = pool._numBytesAllocated;
          const start = performance.now();
          const t = acquire.apply(pool, args);
          if (pool._numBytesAllocated > bytes) {
            created.count++;
            created.bytes += pool._numBytesAllocated - bytes;
            created.ms += performance.now() - start;
          }
          return t;
        };
        for (const policy of ['keep-used', 'keep-all']) {
          setGpuPoolPolicy(policy);
          for (const order of ['interleaved', 'warm']) {
            const names = Object.keys(plans);
            const sequence =
              order === 'interleaved'
                ? Array.from({ length: rounds as number }, () => names).flat()
                : names.flatMap((n) => Array.from({ length: rounds as number }, () => n));
            const times: Record<string, number[]> = {};
            const made: Record<string, string[]> = {};
            const compiled: Record<string, number[]> = {};
            // one untimed forward of each first, so no order starts from an empty pool or cold shaders
            for (const n of names) {
              const { logits } = await runForward(model, pixels, plans[n]);
              await logits.data();
              logits.dispose();
            }
            for (const n of sequence) {
              const before = Object.keys(cache).length;
              created.count = 0;
              created.bytes = 0;
              created.ms = 0;
              const start = performance.now();
              const { logits } = await runForward(model, pixels, plans[n]);
              await logits.data();
              logits.dispose();
              (times[n] ??= []).push(Math.round(performance.now() - start));
              (compiled[n] ??= []).push(Object.keys(cache).length - before);
              (made[n] ??= []).push(`${created.count}/${(created.bytes / 2 ** 20).toFixed(1)}MiB/${created.ms.toFixed(0)}ms`);
            }
            for (const n of names)
              out.push(
                `forward ${policy} ${order} ${n}: ms ${times[n].join(' ')}; programs compiled ${compiled[n].join(' ')}; textures created ${made[n].join(' ')}`,
              );
          }
        }
        setGpuPoolPolicy('keep-used');
      }
      if ((parts as string[]).includes('programs')) {
        // DeiT-T's first reducing block: N = 197, keys mean dh = 64, width 192, r = 13
        const n = 197;
        const r = 13;
        const metric = tf.randomNormal([1, n, 64], 0, 1, 'float32', 2);
        const x = tf.randomNormal([1, n, 192], 0, 1, 'float32', 3);
        const size = tf.ones([1, n, 1]);
        const w = tf.randomNormal([192, 576], 0, 1, 'float32', 4);
        const best = tomeBestMatchGL(metric, true, false);
        const target = tomeDecideGL(best, n, { r, sortUnmerged: true, distillToken: false, withIndices: false });
        const coeff = groupMeanGL(target, tf.reshape(size, [1, n]));
        await Promise.all([best.data(), target.data(), coeff.data()]);
        const cases: [string, () => unknown][] = [
          ['qkv matmul [197,192]x[192,576] (reference)', () => tf.matMul(tf.reshape(x, [n, 192]), w)],
          ['tome_bestmatch_gl', () => tomeBestMatchGL(metric, true, false)],
          ['tome_decide_gl (targets only)', () => tomeDecideGL(best, n, { r, sortUnmerged: true, distillToken: false, withIndices: false })],
          ['tome_decide_gl (with indices)', () => tomeDecideGL(best, n, { r, sortUnmerged: true, distillToken: false, withIndices: true })],
          ['groupmean_gl', () => groupMeanGL(target, tf.reshape(size, [1, n]))],
          ['apply_weighted_gl x [197,192]', () => applyAssignmentGL(x, target, coeff, n - r)],
          ['apply_summed_gl size [197,1]', () => applyAssignmentGL(size, target, null, n - r)],
        ];
        for (const [name, run] of cases) {
          const ms: number[] = [];
          for (let round = 0; round < (rounds as number) + 1; round++) {
            const start = performance.now();
            let last: { data(): Promise<unknown> } | null = null;
            for (let i = 0; i < (reps as number); i++) {
              const t = tf.tidy(run as never) as { data(): Promise<unknown>; dispose(): void };
              if (last) (last as unknown as { dispose(): void }).dispose();
              last = t;
            }
            await last!.data();
            (last as unknown as { dispose(): void }).dispose();
            if (round > 0) ms.push((performance.now() - start) / (reps as number));
          }
          out.push(`program ${name}: ms per run ${ms.map((v) => v.toFixed(2)).join(' ')}`);
        }
        tf.dispose([metric, x, size, w, best, target, coeff]);
      }
      tf.dispose([pixels, ...listWeights(model.weights)]);
      return out;
    },
    [ROUNDS, REPS, PLAN, PARTS] as const,
  );
  console.log(lines.join('\n'));
} finally {
  await close();
}
