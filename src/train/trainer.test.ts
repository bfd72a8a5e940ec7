import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from '../../tests/helpers/tf';
import type { GreyImages } from '../io/grey-images';
import type { VitConfig } from '../model/config';
import { weightsToTimm } from '../model/weights';
import { readState } from './checkpoint';
import { DEFAULT_TRAIN_OPTIONS, train, type TrainOptions } from './trainer';

useWasmBackend();

const config: VitConfig = {
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 16,
  image_size: 8,
  patch_size: 4,
  num_channels: 1,
  layer_norm_eps: 1e-6,
  id2label: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), `c${i}`])),
  image_mean: [0.3],
  image_std: [0.3],
};
const options: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, epochs: 2, batchSize: 8, lr: 3e-3, warmupEpochs: 0.5 };

function syntheticSet(count: number): GreyImages {
  let s = 12345;
  const images = Uint8Array.from({ length: count * 64 }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) >>> 23);
  return { count, size: 8, images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10) };
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'tokenscope-train-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function finalWeights(dir: string, stopAfter?: number) {
  const data = syntheticSet(40); // 5 steps per epoch
  let steps = 0;
  const first = await train({
    config,
    options,
    train: data,
    test: data,
    outDir: dir,
    resume: false,
    shouldStop: () => stopAfter !== undefined && steps >= stopAfter,
    onEvent: (e) => {
      if (e.type === 'step') steps++;
    },
  });
  let result = first;
  if (!first.finished) {
    first.dispose();
    result = await train({ config, options, train: data, test: data, outDir: dir, resume: true });
  }
  const named = await weightsToTimm(config, result.params.weights);
  const history = result.state.history.map(({ seconds: _s, ...rest }) => rest);
  result.dispose();
  return { named, history, finished: first.finished };
}

describe('train', () => {
  it('train stopped mid-epoch and resumed ends with bit-identical weights and history to an uninterrupted run', async () => {
    const straight = await finalWeights(tempDir());
    const resumed = await finalWeights(tempDir(), 7); // stops in epoch 2, batch 2
    expect(resumed.finished).toBe(false);
    expect(straight.history).toHaveLength(2);
    expect(resumed.history).toEqual(straight.history);
    expect([...resumed.named.keys()]).toEqual([...straight.named.keys()]);
    for (const [name, { data }] of straight.named) expect(resumed.named.get(name)?.data, name).toEqual(data);
  });

  it('train writes one checkpoint per epoch and a state.json naming a state file that exists, with no temporary files', async () => {
    const dir = tempDir();
    const r = await train({ config, options, train: syntheticSet(16), outDir: dir, resume: false });
    r.dispose();
    const files = readdirSync(dir).sort();
    const state = readState(dir);
    expect(files).toEqual(['epoch-001.safetensors', 'epoch-002.safetensors', state.tensors, 'state.json'].sort());
    expect(state).toMatchObject({ epoch: 2, batch: 0, step: 4 });
  });

  it('train resumed with setEpochs extends a finished run, records the change, and refuses to end in the past', async () => {
    const dir = tempDir();
    const data = syntheticSet(16); // 2 steps per epoch
    (await train({ config, options: { ...options, epochs: 1 }, train: data, outDir: dir, resume: false })).dispose();
    const longer = await train({ config, options, train: data, outDir: dir, resume: true, setEpochs: 3 });
    longer.dispose();
    expect(longer.finished).toBe(true);
    expect(longer.state.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(longer.state).toMatchObject({ step: 6, options: { epochs: 3 }, changes: [{ step: 2, epochs: { from: 1, to: 3 } }] });
    await expect(train({ config, options, train: data, outDir: dir, resume: true, setEpochs: 2 })).rejects.toThrowError(
      expect.objectContaining({ code: 'param-out-of-range', message: expect.stringContaining('would end it in the past') }),
    );
  });

  it('train leaves no tensors behind once its result is disposed', async () => {
    const before = tf.memory().numTensors;
    const r = await train({ config, options: { ...options, epochs: 1 }, train: syntheticSet(16), test: syntheticSet(8), outDir: tempDir(), resume: false });
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
