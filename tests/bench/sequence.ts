/**
 * Runs plans back to back in headless Chromium and prints every run's time and the WebGPU buffer
 * pool: the first run (compilation), the second, and the steady state of one plan without other
 * plans in between, plus how the pool grows. Usage:
 *   npx tsx tests/bench/sequence.ts webgpu none tome:r=13 ats      (backend, then plans; 4 runs each)
 */
import { openBenchPage } from './bench-page-session';

const [backend = 'webgpu', ...plans] = process.argv.slice(2);
const RUNS = Number(process.env.RUNS ?? 4);

const { page, close } = await openBenchPage();
try {
  const lines = await page.evaluate(
    async ([name, texts, runs]) => {
      // modules served by Vite, imported in the page (no named helpers in here: tsx would wrap them
      // in a __name() call the page does not have)
      const tf = window.tf; // the same TF.js instance the engine modules use
      const { useBackend } = await import(/* @vite-ignore */ '/src/app/engine/backends.ts' as string);
      const { archConfig } = await import(/* @vite-ignore */ '/src/model/config.ts' as string);
      const { listWeights, randomWeights } = await import(/* @vite-ignore */ '/src/model/weights.ts' as string);
      const { runForward, warmUp } = await import(/* @vite-ignore */ '/src/model/run.ts' as string);
      const { compilePlan } = await import(/* @vite-ignore */ '/src/reduce/compile.ts' as string);
      const { planFromText } = await import(/* @vite-ignore */ '/src/reduce/plan.ts' as string);
      await useBackend(name);
      const config = archConfig('deit-t');
      const model = { config, weights: randomWeights(config, 1) };
      await warmUp(model, []);
      const pixels = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 1);
      const out: string[] = [];
      for (const text of texts as string[]) {
        const plan = compilePlan(planFromText(text, 12), config);
        for (let i = 0; i < (runs as number); i++) {
          const start = performance.now();
          const { logits } = await runForward(model, pixels, plan);
          await logits.data();
          logits.dispose();
          const pool = (tf.backend() as { bufferManager?: { numBytesAllocated: number } }).bufferManager;
          out.push(
            `${text} run ${i + 1}: ${(performance.now() - start).toFixed(0)} ms${pool ? `, buffer pool ${(pool.numBytesAllocated / 2 ** 20).toFixed(1)} MiB` : ''}`,
          );
        }
      }
      tf.dispose([pixels, ...listWeights(model.weights)]);
      return out;
    },
    [backend, plans.length ? plans : ['none', 'tome:r=13'], RUNS] as const,
  );
  console.log(lines.join('\n'));
} finally {
  await close();
}
