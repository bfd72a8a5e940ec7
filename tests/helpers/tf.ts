import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect } from 'vitest';
import { useBackend } from '../../src/model/backend';

/** Run the file's tests on the wasm backend, the one the CLI uses in Node. */
export function useWasmBackend(): void {
  beforeAll(async () => {
    await useBackend('wasm');
  });
}

/** Runs `fn` and checks it leaves exactly `returned` more tensors alive than before. */
export async function expectNoLeak<T>(fn: () => T | Promise<T>, { returned = 0 } = {}): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  expect(tf.memory().numTensors - before).toBe(returned);
  return result;
}
