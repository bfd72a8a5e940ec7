/**
 * Where a WebGPU forward's time goes on a GPU: the wall-clock time of a forward against the time
 * the GPU spends in its programs (TF.js's `tf.time`: a timestamp query around every program,
 * summed), per plan and batch, DeiT-T shapes, random weights. Runs in Node on Dawn
 * (src/cli/node-webgpu.ts), for a machine with a GPU and no browser:
 *
 *   npm install --no-save webgpu && npx tsx tests/bench/gpu-time.ts [--batch 1,32] [--rounds 5] [--layouts row,element]
 *
 * `--layouts` runs everything once per layout of the shared apply step (apply-assignment.ts);
 * without it the adapter's own choice.
 *
 * Plans whose forward reads nothing back (not ATS or ATC): `tf.time` takes a synchronous
 * function, so the forward must queue all its programs before its first await; the `programs`
 * column (how many programs were timed) checks that against the bench's dispatch count.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { startNodeWebGpu } from '../../src/cli/node-webgpu';
import { type ApplyLayout, forceApplyLayout } from '../../src/tokens/webgpu/apply-assignment';
import { useBackend } from '../../src/model/backend';
import { archConfig } from '../../src/model/config';
import { median } from '../../src/measure/timing';
import { type ForwardResult, runForward, warmUp } from '../../src/model/run';
import { listWeights, randomWeights } from '../../src/model/weights';
import { compilePlan } from '../../src/reduce/compile';
import { planFromText } from '../../src/reduce/plan';

const PLANS = ['none', 'tome:r=13', 'pitome:ratio=0.9', 'mctf:r=16'];

const { values } = parseArgs({ options: { batch: { type: 'string', default: '1,32' }, rounds: { type: 'string', default: '5' }, layouts: { type: 'string' } } });
const adapter = await startNodeWebGpu();
await useBackend('webgpu');
const config = archConfig('deit-t');
const model = { config, weights: randomWeights(config, 1) };
const plans = PLANS.map((text) => ({ text, plan: compilePlan(planFromText(text, config.num_hidden_layers), config) }));
const rounds = Number(values.rounds);
/** The programs with the most GPU time per forward, per plan and batch (mean over the timed rounds). */
const top = new Map<string, [string, number][]>();
console.log(`adapter ${JSON.stringify(adapter)}, TF.js ${tf.version.tfjs}`);
console.log('plan              batch  wall ms  GPU ms  GPU share  programs  GPU µs/program');
const layouts: (ApplyLayout | null)[] = values.layouts ? (values.layouts.split(',') as ApplyLayout[]) : [null];
for (const layout of layouts) {
  forceApplyLayout(layout);
  if (layout) console.log(`apply layout: ${layout}`);
  for (const batch of values.batch!.split(',').map(Number)) {
    await warmUp(
      model,
      plans.map((p) => p.plan),
      { batch },
    );
    const pixels = tf.randomNormal([batch, config.image_size, config.image_size, config.num_channels], 0, 1, 'float32', 1) as tf.Tensor4D;
    for (const { text, plan } of plans) {
      const walls: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        const plain = await runForward(model, pixels, plan);
        await plain.logits.data();
        walls.push(performance.now() - t0);
        plain.logits.dispose();
      }
      // timed after the plain rounds: a timed forward gives every program its own pass and query
      const gpu: number[] = [];
      let programs = 0;
      const perProgram = new Map<string, number>();
      for (let r = 0; r < rounds; r++) {
        let timed: Promise<ForwardResult> | undefined;
        const info = await tf.time(() => {
          timed = runForward(model, pixels, plan);
        });
        const result = await timed!;
        await result.logits.data();
        result.logits.dispose();
        gpu.push(info.kernelMs as number);
        const each = ((info as unknown as { getExtraProfileInfo?: () => string }).getExtraProfileInfo?.() ?? '').split(', ').filter(Boolean);
        programs = each.length;
        for (const entry of each) {
          const at = entry.lastIndexOf(': ');
          const name = entry.slice(0, at);
          perProgram.set(name, (perProgram.get(name) ?? 0) + Number(entry.slice(at + 2)) / rounds);
        }
      }
      top.set(`${layout ? `${layout}: ` : ''}${text} batch ${batch}`, [...perProgram].sort((a, b) => b[1] - a[1]).slice(0, 8));
      const wall = median(walls);
      const kernel = median(gpu);
      console.log(
        `${text.padEnd(16)} ${String(batch).padStart(6)} ${wall.toFixed(1).padStart(8)} ${kernel.toFixed(2).padStart(7)} ${((100 * kernel) / wall).toFixed(1).padStart(9)}% ${String(programs).padStart(9)} ${((1000 * kernel) / Math.max(1, programs)).toFixed(1).padStart(15)}`,
      );
    }
    pixels.dispose();
  }
}
forceApplyLayout(null);
console.log('\nGPU ms per forward of the costliest programs (TF.js program names; ours are the fused ones):');
for (const [what, list] of top) console.log(`${what}: ${list.map(([n, ms]) => `${n} ${ms.toFixed(2)}`).join(', ')}`);
tf.dispose(listWeights(model.weights));
