/** `tokenscope eval`: accuracy, fidelity and GFLOPs of a plan on a labelled set (wasm backend). */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { evaluatePlans } from '../measure/evaluate';
import { useBackend } from '../model/backend';
import { loadModelDir } from '../model/load-node';
import { warmUp } from '../model/run';
import { listWeights } from '../model/weights';
import { planHelp } from '../reduce/plan';
import { DATA_HELP, DATA_OPTIONS, labelledData } from './eval-data';
import { FOLDER_HELP, FOLDER_OPTIONS, runFolderCommand } from './folder-options';
import { isImageFolder } from './folder-run';
import type { Command } from './main';
import { ProgressBar } from './progress';

const HELP = `usage: tokenscope eval [--model DIR] [--plan PLAN] [--limit N] [--batch B] [--data DIR | --eval-set FILE] [--json]
       tokenscope eval --model M --data IMAGEFOLDER [--plan PLAN] [--labels sorted] [--out FILE.jsonl] [--workers N] [--shard k/n] [--json]

Runs the unreduced model and the plan over a labelled greyscale set (wasm backend, progress on
stderr) and reports the plan's top-1 accuracy, its top-1 agreement and mean KL divergence to the
unreduced model, and its GFLOPs per image in the fvcore convention from the token counts each
forward produced (ATS: the mean over the set, since its count varies per image).

  --plan PLAN       token-reduction plan (default none)
${DATA_HELP}
  --json            print {"accuracy", "n", "gflops", "agreement", "kl", "overhead_gflops",
                    "base_accuracy", "base_gflops", "plan", "tokens"}

${FOLDER_HELP}
  --json            print the summary: {"model", "data", "n", "failed", "plans": [{"plan",
                    "method", "n", "accuracy", "top5_accuracy", "agreement", "kl", "gflops",
                    "tokens"}, …], "pareto"}; the unreduced model is the plan "none"

${planHelp()}
`;

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...DATA_OPTIONS, ...FOLDER_OPTIONS, plan: { type: 'string', default: 'none' } } });
  if (values.data && isImageFolder(values.data)) return runFolderCommand('eval', values, () => [values.plan!]);
  await useBackend('wasm');
  const model = loadModelDir(values.model!);
  try {
    await warmUp(model, []); // per-head attention layout for the wasm backend
    const data = labelledData(model, values);
    const bar = new ProgressBar({ label: 'eval', total: data.n, logEvery: Math.max(100, Math.ceil(data.n / 10)) });
    const [base, scored = base] = await evaluatePlans(model, [values.plan!], data.batches(), {
      total: data.n,
      onProgress: ({ done }) => bar.update(done),
    });
    bar.done();
    const round = (v: number, d = 6) => Number(v.toFixed(d));
    const out = {
      plan: scored.plan,
      accuracy: scored.accuracy,
      n: scored.n,
      gflops: round(scored.gflops),
      agreement: scored.agreement,
      kl: round(scored.kl, 8),
      overhead_gflops: round(scored.overheadGflops, 8),
      base_accuracy: base.accuracy,
      base_gflops: round(base.gflops),
      tokens: scored.meanTokens.map((t) => round(t, 3)),
      data: data.name,
    };
    if (values.json) {
      console.log(JSON.stringify(out));
    } else {
      console.log(`${values.model} on ${data.name} (${out.n} images), plan ${out.plan}`);
      console.log(`  top-1 ${(100 * out.accuracy).toFixed(2)}%  (unreduced ${(100 * out.base_accuracy).toFixed(2)}%)`);
      console.log(`  GFLOPs/image ${out.gflops}  (unreduced ${out.base_gflops}, ${((100 * out.gflops) / out.base_gflops).toFixed(1)}%)`);
      console.log(`  agreement with unreduced ${(100 * out.agreement).toFixed(2)}%, mean KL ${out.kl.toExponential(3)} nats`);
    }
    return 0;
  } finally {
    tf.dispose(listWeights(model.weights));
  }
}

export const evalCommand: Command = {
  summary: 'accuracy, agreement, KL and GFLOPs of a plan on a labelled set',
  help: HELP,
  run,
};
