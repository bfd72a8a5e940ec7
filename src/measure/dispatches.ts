/**
 * Counting what a forward asks of the device: kernel calls (TF.js's profiler) and, on the GPU
 * backends, the programs actually dispatched — every WebGPU compute program (TF.js's own and the
 * fused ones, which the profiler does not see) or WebGL shader run goes through one backend method,
 * which is wrapped for the duration of the call. On wasm and cpu a kernel call is the unit of work,
 * so dispatches = kernels there. Reshapes and other ops that only relabel data dispatch nothing.
 */
import * as tf from '@tensorflow/tfjs';

export interface DispatchCount {
  /** Kernel calls recorded by tf.profile. */
  kernels: number;
  /** Programs run on the device (WebGPU, WebGL); kernel calls on the CPU backends. */
  dispatches: number;
  /** High-water mark of tf.memory().numBytes during the call. */
  peakBytes: number;
}

const PROGRAM_RUNNERS: Record<string, string> = { webgpu: 'runWebGPUProgram', webgl: 'runWebGLProgram' };

/** Runs `fn` once under tf.profile, counting its kernels and device dispatches. */
export async function countDispatches(fn: () => Promise<unknown>): Promise<DispatchCount> {
  const method = PROGRAM_RUNNERS[tf.getBackend()];
  const backend = tf.backend() as unknown as Record<string, (...args: unknown[]) => unknown>;
  let programs = 0;
  const original = method ? backend[method] : undefined;
  if (method && original) {
    backend[method] = function (this: unknown, ...args: unknown[]) {
      programs++;
      return original.apply(this, args);
    };
  }
  try {
    const info = await tf.profile(async () => {
      await fn();
    });
    return { kernels: info.kernels.length, dispatches: original ? programs : info.kernels.length, peakBytes: info.peakBytes };
  } finally {
    if (method && original) backend[method] = original;
  }
}
