/** `tokenscope eval`: top-1 accuracy of a model directory on Fashion-MNIST test images (wasm backend). */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import { FASHION_MNIST_DIR } from '../io/datasets';
import { parseEvalSet } from '../io/eval-set';
import { greyBatches, type GreyImages } from '../io/grey-images';
import { loadFashionMnist, readFileBytes } from '../io/node-files';
import { agreement, evaluateAccuracy } from '../measure/accuracy';
import { countFlops, flopDims } from '../measure/flops';
import { useBackend } from '../model/backend';
import { numTokens, type VitConfig } from '../model/config';
import { loadModelDir } from '../model/load-node';
import { type CompiledPlan, runForward } from '../model/run';
import { listWeights } from '../model/weights';
import type { Command } from './main';
import { ProgressBar } from './progress';

const HELP = `usage: tokenscope eval [--model DIR] [--limit N] [--batch B] [--data DIR | --eval-set FILE] [--json]

Top-1 accuracy of a model directory (config.json + model.safetensors) on labelled greyscale
images, on the wasm backend, with a progress bar on stderr.

  --model DIR       model directory (default models/fmnist-vit)
  --data DIR        Fashion-MNIST IDX files; evaluates the 10,000 test images (default ${FASHION_MNIST_DIR})
  --eval-set FILE   a TokenScope eval-set file instead, e.g. public/data/fmnist-test-1000.bin
  --limit N         only the first N images
  --batch B         images per forward pass (default 100)
  --json            print {"accuracy", "n", "gflops", "agreement"}: gflops per image in the fvcore
                    convention; agreement = top-1 agreement with the unreduced model (1 without a plan)
`;

/** The unreduced model: no hook in any block. */
function unreducedPlan(config: VitConfig): CompiledPlan {
  return { hooks: Array(config.num_hidden_layers).fill(null), propAttn: false };
}

function loadImages(values: { data?: string; 'eval-set'?: string }): { set: GreyImages; name: string } {
  if (values['eval-set']) {
    const path = values['eval-set'];
    const s = parseEvalSet(readFileBytes(path), path);
    if (s.channels !== 1) throw new TokenScopeError('shape-mismatch', `${path} holds ${s.channels}-channel images; eval reads greyscale sets`);
    return { set: s, name: path };
  }
  const dir = values.data ?? FASHION_MNIST_DIR;
  const t = loadFashionMnist('test', dir);
  return { set: { count: t.count, size: t.rows, images: t.images, labels: t.labels }, name: `Fashion-MNIST test (${dir})` };
}

function positiveInt(flag: string, v: string | undefined, fallback: number | undefined): number | undefined {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new TokenScopeError('param-out-of-range', `${flag} needs a positive integer, got ${JSON.stringify(v)}`);
  return x;
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: 'models/fmnist-vit' },
      data: { type: 'string' },
      'eval-set': { type: 'string' },
      limit: { type: 'string' },
      batch: { type: 'string' },
      json: { type: 'boolean', default: false },
      // --plan: the token-reduction plan goes here (src/reduce/plan.ts grammar); see the marked
      // place in run() below.
    },
  });
  if (values.data && values['eval-set']) throw new TokenScopeError('param-out-of-range', 'give --data or --eval-set, not both');
  const limit = positiveInt('--limit', values.limit, undefined);
  const batchSize = positiveInt('--batch', values.batch, 100)!;

  await useBackend('wasm');
  const model = loadModelDir(values.model!);
  try {
    const { config } = model;
    const { set, name } = loadImages(values);
    if (config.num_channels !== 1 || config.image_size !== set.size) {
      throw new TokenScopeError('shape-mismatch', `${values.model} takes ${config.image_size}×${config.image_size}×${config.num_channels} images; ${name} has ${set.size}×${set.size}×1`);
    }
    const mean = config.image_mean?.[0] ?? 0.5;
    const std = config.image_std?.[0] ?? 0.5;
    const n = Math.min(set.count, limit ?? set.count);
    const batches = () => greyBatches(set, { batchSize, mean, std, limit });

    const evaluate = async (plan: CompiledPlan, label: string) => {
      const bar = new ProgressBar({ label, total: n, logEvery: Math.max(batchSize, Math.ceil(n / 10)) });
      const result = await evaluateAccuracy(
        async (pixels: tf.Tensor4D) => (await runForward(model, pixels, plan)).logits,
        batches(),
        { imageSize: config.image_size, channels: 1, onProgress: (done, correct) => bar.update(done, `acc ${((100 * correct) / done).toFixed(2)}%`) },
      );
      bar.done();
      return result;
    };

    const baseline = await evaluate(unreducedPlan(config), 'eval');
    const N = numTokens(config);
    const flops = countFlops(flopDims(config), Array.from({ length: config.num_hidden_layers }, () => ({ nIn: N, nOut: N, slot: null })));

    // ---- --plan goes here -------------------------------------------------------------------
    // With a plan: compiled = compilePlan(planFromText(text, depth), config); run
    // evaluate(compiled, 'eval (plan)'), report its accuracy, its GFLOPs from the traced token
    // counts (measure/plan-flops.ts), and agreement(reduced.predictions, baseline.predictions).
    // Until then the reported run is the unreduced one, which agrees with itself.
    const reported = baseline;
    const out = {
      accuracy: reported.accuracy,
      n: reported.n,
      gflops: Number((flops.model / 1e9).toFixed(6)),
      agreement: agreement(reported.predictions, baseline.predictions),
    };
    // -------------------------------------------------------------------------------------------

    if (values.json) {
      console.log(JSON.stringify(out));
    } else {
      console.log(`${values.model} on ${name}: top-1 ${(100 * out.accuracy).toFixed(2)}% (${reported.correct}/${out.n}), ${out.gflops} GFLOPs per image, agreement ${out.agreement}`);
    }
    return 0;
  } finally {
    tf.dispose(listWeights(model.weights));
  }
}

export const evalCommand: Command = {
  summary: 'top-1 accuracy of a model on Fashion-MNIST test images',
  help: HELP,
  run,
};
