/**
 * The training loop: shuffled mini-batches with light augmentation, AdamW under a warm-up + cosine
 * schedule, label-smoothed cross-entropy, a test-set evaluation and a checkpoint after every epoch,
 * and a clean stop on request (the state is saved at the current batch, so `--resume` continues
 * exactly where it stopped: same shuffles, same augmentations, same updates).
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import type { GreyImages } from '../io/grey-images';
import { greyBatches } from '../io/grey-images';
import { evaluateAccuracy } from '../measure/accuracy';
import type { VitConfig } from '../model/config';
import { forwardTensors } from '../model/vit';
import { randomWeights, type VitWeights } from '../model/weights';
import { AdamW } from './adamw';
import { makeBatch } from './batch';
import { type EpochRecord, readState, restoreTensors, saveEpochWeights, saveState, type TrainState } from './checkpoint';
import { decays, makeTrainable, type TrainableParams } from './params';
import { batchRng, epochOrder, mixSeed, STREAM } from './rng';
import { learningRate, type LrSchedule } from './schedule';
import { trainStep } from './step';

/** Everything that decides the numbers of a run (saved in state.json; a resume reuses it). */
export interface TrainOptions {
  seed: number;
  epochs: number;
  batchSize: number;
  /** Peak learning rate, reached after `warmupEpochs`; cosine decay to `minLr` at the end. */
  lr: number;
  minLr: number;
  warmupEpochs: number;
  weightDecay: number;
  labelSmoothing: number;
  /** Random shift of up to this many pixels per axis. */
  maxShift: number;
  flip: boolean;
  clipNorm: number;
  /** Pixel normalisation (Fashion-MNIST's own statistics). */
  mean: number;
  std: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 0,
  epochs: 10,
  batchSize: 64,
  lr: 1e-3,
  minLr: 1e-5,
  warmupEpochs: 0.5,
  weightDecay: 0.05,
  labelSmoothing: 0.1,
  maxShift: 2,
  flip: true,
  clipNorm: 1,
  mean: 0.286,
  std: 0.353,
};

export type TrainEvent =
  | { type: 'start'; epoch: number; batch: number; epochs: number; stepsPerEpoch: number; resumed: boolean }
  /** After an update; `step` counts the updates done so far. */
  | { type: 'step'; epoch: number; batch: number; step: number; stepsPerEpoch: number; loss: number; accuracy: number; lr: number }
  | { type: 'evaluating'; epoch: number; done: number; total: number }
  | { type: 'epoch'; record: EpochRecord; checkpoint: string }
  | { type: 'stopped'; epoch: number; batch: number };

export interface TrainRun {
  config: VitConfig;
  options: TrainOptions;
  train: GreyImages;
  /** Evaluated after every epoch when given. */
  test?: GreyImages;
  /** Checkpoint directory. */
  outDir: string;
  resume: boolean;
  /**
   * With `resume`: change the run's epoch count from here on (the cosine schedule is recomputed for
   * the new length from the current step). Recorded in the state's `changes`.
   */
  setEpochs?: number;
  /** With `setEpochs`: start the new cosine from this rate instead (a warm restart). */
  restartLr?: number;
  /** Polled between steps; true = save and stop. */
  shouldStop?: () => boolean;
  onEvent?: (e: TrainEvent) => void;
}

export interface TrainResult {
  finished: boolean;
  state: TrainState<TrainOptions>;
  params: TrainableParams;
  dispose(): void;
}

export function schedule(o: TrainOptions, stepsPerEpoch: number, changes: TrainState['changes'] = []): LrSchedule {
  const base: LrSchedule = {
    peak: o.lr,
    floor: o.minLr,
    warmupSteps: Math.max(1, Math.round(o.warmupEpochs * stepsPerEpoch)),
    totalSteps: o.epochs * stepsPerEpoch,
  };
  const last = changes[changes.length - 1];
  return last ? { ...base, restart: { step: last.step, lr: last.lr } } : base;
}

/** Logits of the unreduced model; the caller disposes. */
export function plainPredict(config: VitConfig, weights: VitWeights) {
  const hooks = Array(config.num_hidden_layers).fill(null);
  return (pixels: tf.Tensor4D) => forwardTensors(config, weights, pixels, { hooks, propAttn: false, keepAssignments: false }).logits;
}

/** Trains (or resumes) a run; resolves when all epochs are done or a stop was requested and saved. */
export async function train(run: TrainRun): Promise<TrainResult> {
  let state: TrainState<TrainOptions>;
  if (run.resume) {
    state = readState<TrainOptions>(run.outDir);
    // (States written before this field existed carry no count and are not checked.)
    if (state.trainImages !== undefined && state.trainImages !== run.train.count) {
      throw new TokenScopeError(
        'param-out-of-range',
        `the run in ${run.outDir} trains on ${state.trainImages} images, but ${run.train.count} were given; resume with the same --data and --limit`,
      );
    }
    if (run.setEpochs !== undefined && run.setEpochs !== state.options.epochs) {
      if (run.setEpochs < state.epoch + (state.batch > 0 ? 1 : 0)) {
        throw new TokenScopeError(
          'param-out-of-range',
          `the run in ${run.outDir} is already in epoch ${state.epoch + 1}; --epochs ${run.setEpochs} would end it in the past`,
        );
      }
      // The rate stays continuous: a new cosine starts from the old schedule's rate at this step.
      const stepsPerEpoch = Math.floor(run.train.count / state.options.batchSize);
      const lr = run.restartLr ?? learningRate(schedule(state.options, stepsPerEpoch, state.changes), state.step);
      state.changes = [...(state.changes ?? []), { step: state.step, lr, epochs: { from: state.options.epochs, to: run.setEpochs } }];
      state.options = { ...state.options, epochs: run.setEpochs };
    }
  } else {
    state = {
      format: 'tokenscope-train-state',
      version: 1,
      tensors: '',
      config: run.config,
      options: run.options,
      trainImages: run.train.count,
      epoch: 0,
      batch: 0,
      step: 0,
      rng: { seed: run.options.seed, scheme: 'mulberry32(mix(seed, stream, epoch[, batch])); streams shuffle=1 augment=2 init=3' },
      partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
      history: [],
      elapsedSeconds: 0,
    };
  }
  const { config, options: o } = state;
  const params = makeTrainable(randomWeights(config, mixSeed(o.seed, STREAM.init)));
  const opt = new AdamW(params.variables, params.names.map(decays), {
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: o.weightDecay,
    clipNorm: o.clipNorm,
  });
  const dispose = () => {
    opt.dispose();
    tf.dispose(params.variables);
  };
  try {
    if (run.resume) restoreTensors(run.outDir, state, params, opt);
    const result = await loop(run, state, params, opt);
    return { ...result, params, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

async function loop(run: TrainRun, state: TrainState<TrainOptions>, params: TrainableParams, opt: AdamW) {
  const { config, options: o } = state;
  const n = run.train.count;
  const B = o.batchSize;
  const stepsPerEpoch = Math.floor(n / B); // the last partial batch of each epoch is dropped
  if (stepsPerEpoch < 1) throw new TokenScopeError('param-out-of-range', `batch size ${B} is larger than the training set (${n} images)`);
  const sched = schedule(o, stepsPerEpoch, state.changes);
  const spec = { images: run.train.images, size: run.train.size, mean: o.mean, std: o.std };
  const emit = run.onEvent ?? (() => undefined);
  emit({ type: 'start', epoch: state.epoch, batch: state.batch, epochs: o.epochs, stepsPerEpoch, resumed: run.resume });
  // Wall time is added to the state as it passes, so it survives stops and resumes.
  let mark = performance.now();
  const tick = () => {
    const now = performance.now();
    const seconds = (now - mark) / 1000;
    mark = now;
    state.elapsedSeconds += seconds;
    state.partial.seconds += seconds;
  };
  const labels = new Int32Array(B);
  while (state.epoch < o.epochs) {
    const order = epochOrder(o.seed, state.epoch, n);
    for (; state.batch < stepsPerEpoch; state.batch++) {
      // Let signal handlers run between the (synchronous) steps.
      await new Promise((r) => setImmediate(r));
      if (run.shouldStop?.()) {
        tick();
        await saveState(run.outDir, params, opt, state);
        emit({ type: 'stopped', epoch: state.epoch, batch: state.batch });
        return { finished: false, state };
      }
      const idx = order.subarray(state.batch * B, (state.batch + 1) * B);
      for (let i = 0; i < B; i++) labels[i] = run.train.labels[idx[i]];
      const pixels = makeBatch(spec, idx, { rng: batchRng(o.seed, state.epoch, state.batch), maxShift: o.maxShift, flip: o.flip });
      const lr = learningRate(sched, state.step);
      const r = trainStep(config, params, opt, pixels, labels, lr, o.labelSmoothing);
      if (!Number.isFinite(r.loss)) {
        throw new TokenScopeError('internal', `loss became ${r.loss} at epoch ${state.epoch + 1}, batch ${state.batch} (lr ${lr}); lower --lr`);
      }
      state.step++;
      state.partial.lossSum += r.loss * B;
      state.partial.correct += r.correct;
      state.partial.seen += B;
      emit({
        type: 'step',
        epoch: state.epoch,
        batch: state.batch + 1,
        step: state.step,
        stepsPerEpoch,
        lr,
        loss: state.partial.lossSum / state.partial.seen,
        accuracy: state.partial.correct / state.partial.seen,
      });
    }
    let testAccuracy: number | null = null;
    if (run.test) {
      const test = run.test;
      const epoch = state.epoch;
      const r = await evaluateAccuracy(plainPredict(config, params.weights), greyBatches(test, { batchSize: 500, mean: o.mean, std: o.std }), {
        imageSize: test.size,
        channels: 1,
        onProgress: (done) => emit({ type: 'evaluating', epoch, done, total: test.count }),
      });
      testAccuracy = r.accuracy;
    }
    tick();
    const record: EpochRecord = {
      epoch: state.epoch + 1,
      trainLoss: state.partial.lossSum / state.partial.seen,
      trainAccuracy: state.partial.correct / state.partial.seen,
      testAccuracy,
      seconds: state.partial.seconds,
      lr: learningRate(sched, state.step - 1),
    };
    state.history.push(record);
    state.partial = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
    const checkpoint = await saveEpochWeights(run.outDir, config, params, record.epoch);
    state.epoch++;
    state.batch = 0;
    await saveState(run.outDir, params, opt, state);
    emit({ type: 'epoch', record, checkpoint });
  }
  return { finished: true, state };
}
