import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint, hfConfigJson, randomTimmArrays, renameTo, smallVitConfig } from '../../../tests/helpers/checkpoints';
import { useWasmBackend } from '../../../tests/helpers/tf';
import { TokenScopeError } from '../../errors';
import { MAX_CHECKPOINT_BYTES, readCheckpointFiles } from '../../io/checkpoint';
import { useBackend } from '../../model/backend';
import { asLoadError, ModelHolder } from './model-holder';

useWasmBackend();

const small = smallVitConfig({ 0: 'a', 1: 'b' });
const weights = encodeCheckpoint(renameTo(randomTimmArrays(small, 4), 'hf-vit'), 'F32');
const origin = { kind: 'files' as const, names: ['model.safetensors'] };

describe('ModelHolder', () => {
  const holder = new ModelHolder({ useBackend });
  beforeAll(() => holder.useBackend('wasm'));
  afterAll(() => holder.dispose());

  it('keeps the running model when a new one fails to load, and frees the old one when a new one loads', async () => {
    const before = tf.memory().numTensors;
    const first = await holder.load({ kind: 'files', name: 'first', origin, files: { safetensors: weights, config: hfConfigJson(small, 'hf-vit') } });
    expect(first).toMatchObject({ name: 'first', origin, untrained: false, config: { num_hidden_layers: 2 } });
    expect(first.preprocess.inputSize).toBe(8);
    const loaded = tf.memory().numTensors;
    const contradicting = { ...hfConfigJson(small, 'hf-vit'), hidden_size: 96 };
    await expect(holder.load({ kind: 'files', name: 'bad', origin, files: { safetensors: weights, config: contradicting } })).rejects.toMatchObject({
      code: 'shape-mismatch',
    });
    await expect(holder.load({ kind: 'files', name: 'junk', origin, files: { safetensors: new Uint8Array(12) } })).rejects.toMatchObject({
      code: 'safetensors-malformed',
    });
    expect(holder.requireModel().info.name).toBe('first');
    expect(tf.memory().numTensors).toBe(loaded);
    await holder.load({ kind: 'files', name: 'second', origin, files: { safetensors: weights } });
    expect(holder.requireModel().info.name).toBe('second');
    expect(tf.memory().numTensors).toBe(loaded); // the first model's tensors are gone
    holder.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('model size limits', () => {
  it('asLoadError names a failed allocation as model-too-large, with what to try', () => {
    const e = asLoadError(new RangeError('Array buffer allocation failed'), 'DeiT-B', 'webgl') as TokenScopeError;
    expect(e.code).toBe('model-too-large');
    expect(e.message).toBe(
      "DeiT-B does not fit in this device's memory on the webgl backend (Array buffer allocation failed); try a smaller model (DeiT-Tiny, ViT-Tiny) or another backend",
    );
    expect((asLoadError(new Error('GPU out of memory'), 'x', 'webgpu') as TokenScopeError).code).toBe('model-too-large');
    const other = new Error('something else');
    expect(asLoadError(other, 'x', 'wasm')).toBe(other);
  });

  it('refuses a checkpoint over the limit before reading a byte of it', async () => {
    let read = false;
    const huge = { name: 'vit-huge.safetensors', size: MAX_CHECKPOINT_BYTES + 1, arrayBuffer: async () => ((read = true), new ArrayBuffer(0)) };
    await expect(readCheckpointFiles([huge])).rejects.toMatchObject({
      code: 'model-too-large',
      message: expect.stringMatching(/^vit-huge\.safetensors is 1\.30 GB; TokenScope runs checkpoints up to 1\.3 GB/),
    });
    expect(read).toBe(false);
  });
});
