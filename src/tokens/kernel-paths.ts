/**
 * Which of two code paths the tensor code takes on the active backend. Shared by the model, the
 * assignment primitive and the methods, so it sits below all of them.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Whether the current backend runs its kernels on the CPU (wasm, cpu). There a plain 2-D matMul is
 * fast while broadcast comparisons, Tile, Gather and batched matmuls are slow (measured figures at
 * the functions that choose by this); on WebGL/WebGPU every op is one dispatch and broadcasting
 * is free.
 */
export function kernelsRunOnCpu(): boolean {
  if (devicePathsForced) return false;
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu';
}

let devicePathsForced = false;

/**
 * Runs `fn` (synchronously) with the code paths chosen for WebGL/WebGPU on whatever backend is
 * active, so tests in Node can check the two paths against each other.
 */
export function withDevicePaths<T>(fn: () => T): T {
  const before = devicePathsForced;
  devicePathsForced = true;
  try {
    return fn();
  } finally {
    devicePathsForced = before;
  }
}
