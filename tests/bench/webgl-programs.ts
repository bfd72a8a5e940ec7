/**
 * How many distinct WebGL shaders each plan's forward uses (DeiT-T shapes, batch 1, random weights),
 * which TF.js program classes compile one per shape, and (ROUNDS > 0) each plan's forward time when
 * the plans take turns. On SwiftShader a forward right after other plans slows down once the plans
 * between them use more than about a thousand distinct shaders (docs/PERFORMANCE.md).
 *
 * Usage: nice npx tsx tests/bench/webgl-programs.ts   (PLANS='tome:r=13;ats' ROUNDS=2; default: the bench suite)
 */
import { openBenchPage } from './bench-page-session';
import { DEFAULT_PLANS } from '../../src/cli/bench';

const PLANS = process.env.PLANS ? process.env.PLANS.split(';') : DEFAULT_PLANS;
const ROUNDS = Number(process.env.ROUNDS ?? 0);
/** TF.js flags to set once WebGL runs, as JSON (e.g. FLAGS='{"USE_SETTIMEOUTCUSTOM":true}'). */
const FLAGS = JSON.parse(process.env.FLAGS ?? '{}') as Record<string, unknown>;

const { page, close } = await openBenchPage();
page.setDefaultTimeout(1_200_000);
try {
  const lines = await page.evaluate(
    async ([planTexts, rounds, flags]) => {
      // no named helpers in here: tsx would wrap them in a __name() call the page does not have
      const tf = window.tf;
      const { useBackend } = await import(/* @vite-ignore */ '/src/app/engine/backends.ts' as string);
      const { archConfig } = await import(/* @vite-ignore */ '/src/model/config.ts' as string);
      const { listWeights, randomWeights } = await import(/* @vite-ignore */ '/src/model/weights.ts' as string);
      const { runForward, warmUp } = await import(/* @vite-ignore */ '/src/model/run.ts' as string);
      const { compilePlan } = await import(/* @vite-ignore */ '/src/reduce/compile.ts' as string);
      const { planFromText } = await import(/* @vite-ignore */ '/src/reduce/plan.ts' as string);
      await useBackend('webgl');
      for (const [flag, value] of Object.entries(flags as Record<string, number | boolean>)) tf.env().set(flag, value);
      const config = archConfig('deit-t');
      const model = { config, weights: randomWeights(config, 1) };
      await warmUp(model, []);
      const pixels = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 1);
      // every shader a forward uses goes through getAndSaveBinary with its key (TF.js's shader cache key)
      const backend = tf.backend() as unknown as { getAndSaveBinary: (key: string, make: () => unknown) => unknown };
      const save = backend.getAndSaveBinary;
      let used = new Set<string>();
      const byClass: Record<string, Set<string>> = {};
      backend.getAndSaveBinary = function (key: string, make: () => unknown) {
        used.add(key);
        const name = /\/\/ tokenscope_(\w+)/.exec(key)?.[1] ?? key.split('_')[0];
        (byClass[name] ??= new Set()).add(key);
        return save.call(this, key, make);
      };
      const plans: Record<string, unknown> = {};
      for (const text of ['none', ...(planTexts as string[])]) plans[text] = compilePlan(planFromText(text, 12), config);
      const out: string[] = [];
      const all = new Set<string>();
      for (const text of Object.keys(plans)) {
        const ms: number[] = [];
        let first = used;
        for (let i = 0; i < 2; i++) {
          used = new Set();
          const start = performance.now();
          const { logits } = await runForward(model, pixels, plans[text]);
          await logits.data();
          logits.dispose();
          ms.push(Math.round(performance.now() - start));
          if (i === 0) first = used;
        }
        let fresh = 0;
        for (const key of first) {
          if (all.has(key)) continue;
          fresh++;
          all.add(key);
        }
        out.push(`${text}: ${first.size} shaders (${fresh} new, ${all.size} in all); ms first ${ms[0]}, again ${ms[1]}`);
      }
      const classes = Object.entries(byClass).sort((a, b) => b[1].size - a[1].size);
      out.push('shaders by program: ' + classes.map(([name, keys]) => `${name} ${keys.size}`).join(', '));
      for (let round = 0; round < (rounds as number); round++) {
        const row: string[] = [];
        for (const text of Object.keys(plans)) {
          const start = performance.now();
          const { logits } = await runForward(model, pixels, plans[text]);
          await logits.data();
          logits.dispose();
          row.push(`${text.split(':')[0]} ${Math.round(performance.now() - start)}`);
        }
        out.push(`taking turns, round ${round + 1} (ms): ${row.join(', ')}`);
      }
      backend.getAndSaveBinary = save;
      tf.dispose([pixels, ...listWeights(model.weights)]);
      return out;
    },
    [PLANS, ROUNDS, FLAGS] as const,
  );
  console.log(lines.join('\n'));
} finally {
  await close();
}
