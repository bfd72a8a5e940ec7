/**
 * The device check behind every fused family (kernel-status.ts): run the fused programs inside a
 * WebGPU validation error scope, flush them to the device, and compare with the generic path.
 * Asynchronous throughout (error scopes and reads are), so it runs once when WebGPU starts, never
 * inside a forward pass.
 */
import * as tf from '@tensorflow/tfjs';
import { webgpuBackend } from './program';

/**
 * Runs `fused` under an error scope and `generic` outside it; a device error, a throw or a
 * difference found by `compare` comes back as a sentence, agreement as null. Frees both results.
 */
export async function checkOnDevice<T>(
  fused: () => T,
  generic: () => T,
  compare: (fused: T, generic: T) => Promise<string | null>,
  dispose: (result: T) => void,
): Promise<string | null> {
  const backend = webgpuBackend();
  const device = backend.device;
  let fusedResult: T | undefined;
  let error: GPUError | null;
  let thrown: string | null = null;
  device.pushErrorScope('validation');
  try {
    fusedResult = fused();
    flush(backend);
  } catch (e) {
    thrown = (e as Error).message;
  } finally {
    error = await device.popErrorScope();
  }
  const genericResult = generic();
  try {
    if (error) return firstLine(error.message);
    if (thrown !== null) return firstLine(thrown);
    return await compare(fusedResult as T, genericResult);
  } finally {
    if (fusedResult !== undefined) dispose(fusedResult);
    dispose(genericResult);
  }
}

/** Sends what TF.js has recorded to the device now, so its errors land in the open scope. */
function flush(backend: ReturnType<typeof webgpuBackend>): void {
  const internals = backend as unknown as { commandEncoder: unknown; endComputePassEncoder(): void };
  if (internals.commandEncoder === null) return;
  internals.endComputePassEncoder();
  backend.submitQueue();
}

function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim() !== '') ?? message;
  return line.trim().slice(0, 160);
}

/** null when a and b agree within `tolerance` (0: exactly), else where they first differ. */
export async function sameValues(a: tf.Tensor, b: tf.Tensor, tolerance: number): Promise<string | null> {
  if (a.shape.join() !== b.shape.join()) return `shape ${a.shape} instead of ${b.shape}`;
  const [x, y] = await Promise.all([a.data(), b.data()]);
  for (let i = 0; i < x.length; i++) {
    const same = tolerance === 0 ? x[i] === y[i] : Math.abs(x[i] - y[i]) <= tolerance || x[i] === y[i];
    if (!same) return `value ${i} is ${x[i]} instead of ${y[i]}`;
  }
  return null;
}
