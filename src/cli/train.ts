/** `tokenscope train`: trains the bundled Fashion-MNIST ViT in Node (wasm backend). */
import { TokenScopeError } from '../errors';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from '../io/datasets';
import { loadFashionMnist } from '../io/node-files';
import type { GreyImages } from '../io/grey-images';
import { useBackend } from '../model/backend';
import type { VitConfig } from '../model/config';
import { weightsToTimm } from '../model/weights';
import { writeModelDir } from '../train/export';
import { DEFAULT_TRAIN_OPTIONS, train, type TrainEvent, type TrainOptions } from '../train/trainer';
import type { Command } from './main';
import { formatDuration, ProgressBar } from './progress';

const D = DEFAULT_TRAIN_OPTIONS;

const HELP = `usage: tokenscope train [options]

Trains a small ViT on Fashion-MNIST (28x28 greyscale, 4x4 patches) with the project's own model
code on the wasm backend. A progress bar (loss, accuracy, ETA) goes to stderr. After every epoch it
evaluates on the 10,000 test images and writes a checkpoint to --out; Ctrl-C (SIGINT) or SIGTERM
saves the state at the current batch and stops (a second Ctrl-C quits at once; files are always
written to a temporary name and renamed, so none is ever half-written). --resume continues exactly.

architecture:
  --hidden N         width D (default 64)
  --depth N          blocks (default 6)
  --heads N          attention heads (default 2, head dim 32)
  --mlp N            MLP width (default 128, ratio 2)

recipe:
  --epochs N         (default ${D.epochs})
  --batch N          batch size (default ${D.batchSize})
  --lr X             peak AdamW learning rate (default ${D.lr})
  --min-lr X         final learning rate of the cosine decay (default ${D.minLr})
  --warmup X         warm-up length in epochs, linear from 0 (default ${D.warmupEpochs})
  --weight-decay X   decoupled weight decay on weight matrices (default ${D.weightDecay})
  --label-smoothing X  (default ${D.labelSmoothing})
  --shift N          random shift of up to N pixels per axis (default ${D.maxShift})
  --no-flip          no random horizontal flips
  --seed N           (default ${D.seed}); every shuffle and augmentation derives from it

files:
  --data DIR         Fashion-MNIST IDX files (default ${FASHION_MNIST_DIR})
  --out DIR          checkpoint directory (default out/train/fmnist-vit)
  --resume           continue the run in --out from its state.json (its options win, except that
                     --epochs N given with --resume changes the run's length from the current step:
                     the cosine schedule is recomputed for N epochs and the change is recorded)
  --restart-lr X     with --resume --epochs N: start that new cosine from rate X instead of the
                     current rate (a warm restart)
  --export DIR       when training is complete, write config.json, preprocessor_config.json and
                     model.safetensors (Hugging Face ViT names) there
  --stop-after N     stop (saving the state, as Ctrl-C does) once N epochs are done
  --stop-at-step N   stop (saving the state) once N updates are done
  --limit N          train on the first N images only (smoke tests)
  --no-eval          skip the per-epoch test evaluation
`;

interface Args {
  options: TrainOptions;
  hidden: number;
  depth: number;
  heads: number;
  mlp: number;
  data: string;
  out: string;
  resume: boolean;
  exportDir?: string;
  limit?: number;
  eval: boolean;
  /** --epochs was given explicitly (used with --resume). */
  epochsGiven: boolean;
  stopAfter?: number;
  stopAtStep?: number;
  restartLr?: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    options: { ...D },
    hidden: 64,
    depth: 6,
    heads: 2,
    mlp: 128,
    data: FASHION_MNIST_DIR,
    out: 'out/train/fmnist-vit',
    resume: false,
    eval: true,
    epochsGiven: false,
  };
  const num = (flag: string, v: string | undefined, int: boolean, min = 0): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min) {
      throw new TokenScopeError(
        'param-out-of-range',
        `${flag} needs ${int ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(v)}; see tokenscope train --help`,
      );
    }
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => argv[++i];
    switch (flag) {
      case '--hidden':
        a.hidden = num(flag, next(), true, 1);
        break;
      case '--depth':
        a.depth = num(flag, next(), true, 1);
        break;
      case '--heads':
        a.heads = num(flag, next(), true, 1);
        break;
      case '--mlp':
        a.mlp = num(flag, next(), true, 1);
        break;
      case '--epochs':
        a.options.epochs = num(flag, next(), true, 1);
        a.epochsGiven = true;
        break;
      case '--batch':
        a.options.batchSize = num(flag, next(), true, 1);
        break;
      case '--lr':
        a.options.lr = num(flag, next(), false);
        break;
      case '--min-lr':
        a.options.minLr = num(flag, next(), false);
        break;
      case '--warmup':
        a.options.warmupEpochs = num(flag, next(), false);
        break;
      case '--weight-decay':
        a.options.weightDecay = num(flag, next(), false);
        break;
      case '--label-smoothing':
        a.options.labelSmoothing = num(flag, next(), false);
        break;
      case '--shift':
        a.options.maxShift = num(flag, next(), true);
        break;
      case '--no-flip':
        a.options.flip = false;
        break;
      case '--seed':
        a.options.seed = num(flag, next(), true);
        break;
      case '--data':
        a.data = next() ?? '';
        break;
      case '--out':
        a.out = next() ?? '';
        break;
      case '--resume':
        a.resume = true;
        break;
      case '--export':
        a.exportDir = next();
        break;
      case '--limit':
        a.limit = num(flag, next(), true, 1);
        break;
      case '--stop-after':
        a.stopAfter = num(flag, next(), true, 1);
        break;
      case '--stop-at-step':
        a.stopAtStep = num(flag, next(), true, 1);
        break;
      case '--restart-lr':
        a.restartLr = num(flag, next(), false);
        break;
      case '--no-eval':
        a.eval = false;
        break;
      default:
        throw new TokenScopeError('param-out-of-range', `unknown option '${flag}'; see tokenscope train --help`);
    }
  }
  if (a.hidden % a.heads !== 0) throw new TokenScopeError('param-out-of-range', `--hidden ${a.hidden} is not divisible by --heads ${a.heads}`);
  if (!a.out) throw new TokenScopeError('param-out-of-range', '--out needs a directory');
  if (a.restartLr !== undefined && !(a.resume && a.epochsGiven)) {
    throw new TokenScopeError('param-out-of-range', '--restart-lr only applies with --resume and --epochs N (it starts the new schedule of a lengthened run)');
  }
  return a;
}

export function fmnistConfig(a: { hidden: number; depth: number; heads: number; mlp: number }, o: TrainOptions): VitConfig {
  return {
    hidden_size: a.hidden,
    num_hidden_layers: a.depth,
    num_attention_heads: a.heads,
    intermediate_size: a.mlp,
    image_size: 28,
    patch_size: 4,
    num_channels: 1,
    layer_norm_eps: 1e-6,
    id2label: Object.fromEntries(FASHION_MNIST_CLASSES.map((c, i) => [String(i), c])),
    image_mean: [o.mean],
    image_std: [o.std],
  };
}

function subset(set: GreyImages, limit?: number): GreyImages {
  if (!limit || limit >= set.count) return set;
  const px = set.size * set.size;
  return { count: limit, size: set.size, images: set.images.subarray(0, limit * px), labels: set.labels.subarray(0, limit) };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  await useBackend('wasm');
  const load = (split: 'train' | 'test'): GreyImages => {
    const s = loadFashionMnist(split, a.data);
    return { count: s.count, size: s.rows, images: s.images, labels: s.labels };
  };
  const trainSet = subset(load('train'), a.limit);
  const testSet = a.eval ? subset(load('test'), a.limit) : undefined;

  let stop = false;
  const onSignal = (sig: string) => {
    if (stop) {
      process.stderr.write(`\n${sig} again: quitting now (checkpoint files are complete; --resume uses the last saved state)\n`);
      process.exit(130);
    }
    stop = true;
    process.stderr.write(`\n${sig}: finishing this step, saving the state to ${a.out} …\n`);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  let bar: ProgressBar | undefined;
  let evalBar: ProgressBar | undefined;
  let epochs = a.options.epochs;
  const onEvent = (e: TrainEvent) => {
    if (e.type === 'start') {
      epochs = e.epochs;
      process.stderr.write(e.resumed ? `resuming ${a.out} at epoch ${e.epoch + 1}, batch ${e.batch}\n` : `training into ${a.out}\n`);
    } else if (e.type === 'step') {
      if (a.stopAtStep !== undefined && e.step >= a.stopAtStep) stop = true;
      if (!bar) bar = new ProgressBar({ label: `epoch ${e.epoch + 1}/${epochs}`, total: e.stepsPerEpoch, start: e.batch - 1, logEvery: 50 });
      bar.update(e.batch, `loss ${e.loss.toFixed(4)}  acc ${pct(e.accuracy)}  lr ${e.lr.toExponential(2)}`);
    } else if (e.type === 'evaluating') {
      if (!evalBar) evalBar = new ProgressBar({ label: `  test ${e.epoch + 1}/${epochs}`, total: e.total, logEvery: e.total });
      evalBar.update(e.done);
    } else if (e.type === 'epoch') {
      const r = e.record;
      if (a.stopAfter !== undefined && r.epoch >= a.stopAfter) stop = true;
      bar?.done();
      evalBar?.done();
      bar = evalBar = undefined;
      process.stderr.write(
        `epoch ${r.epoch}/${epochs}: train loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)}` +
          `${r.testAccuracy === null ? '' : `, test acc ${pct(r.testAccuracy)}`}, ${formatDuration(r.seconds)}, saved ${e.checkpoint}\n`,
      );
    } else if (e.type === 'stopped') {
      bar?.done();
      process.stderr.write(
        `stopped at epoch ${e.epoch + 1}, batch ${e.batch}; state saved in ${a.out}. Continue with:\n  npx tokenscope train --resume --out ${a.out}${a.exportDir ? ` --export ${a.exportDir}` : ''}\n`,
      );
    }
  };

  const config = fmnistConfig(a, a.options);
  const result = await train({
    config,
    options: a.options,
    train: trainSet,
    test: testSet,
    outDir: a.out,
    resume: a.resume,
    setEpochs: a.resume && a.epochsGiven ? a.options.epochs : undefined,
    restartLr: a.restartLr,
    shouldStop: () => stop,
    onEvent,
  });
  try {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    if (!result.finished) return 130;
    const s = result.state;
    const last = s.history[s.history.length - 1];
    process.stderr.write(
      `done: ${s.history.length} epochs, ${formatDuration(s.elapsedSeconds)} of training${last?.testAccuracy != null ? `, test accuracy ${pct(last.testAccuracy)}` : ''}\n`,
    );
    if (a.exportDir) {
      const files = writeModelDir(a.exportDir, s.config, await weightsToTimm(s.config, result.params.weights));
      process.stderr.write(`exported ${files.join(', ')}\n`);
    }
    return 0;
  } finally {
    result.dispose();
  }
}

export const trainCommand: Command = {
  summary: 'train the bundled Fashion-MNIST ViT',
  help: HELP,
  run,
};
