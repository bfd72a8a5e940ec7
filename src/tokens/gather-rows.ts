import * as tf from '@tensorflow/tfjs';
import { kernelsRunOnCpu } from './kernel-paths';
import { fusedFamilyOn } from './webgpu/kernel-status';
import { SELECT_GL_FAMILY, gatherRowsGL } from './webgl/select-rows';

/**
 * values [B, K, …], indices [B, M] int32 -> [B, M, …]: out[b, m] = values[b, indices[b, m]].
 * One flat gather over B·K rows. Not tf.gather(…, batchDims = 1): on the wasm backend that returns
 * rows of the wrong image for most shapes once B > 1 (tfjs 4.22; plain gathers are correct). On
 * the CPU backends by GatherNd, which copies whole rows: the wasm GatherV2 kernel checks and copies
 * element by element in JS (0.89 ms for 185 rows of [192, 192] against 0.023 ms). On WebGL by
 * one program whose shader serves every shape (webgl/select-rows.ts).
 */
export function gatherRows<T extends tf.Tensor>(values: T, indices: tf.Tensor2D): T {
  if (fusedFamilyOn(SELECT_GL_FAMILY)) return gatherRowsGL(values, indices);
  return tf.tidy(() => {
    const [batch, k, ...rest] = values.shape;
    const m = indices.shape[1];
    const flat = tf.reshape(values, [batch * k, ...rest]);
    const flatIdx = batch === 1 ? indices : tf.add(indices, tf.reshape(tf.range(0, batch * k, k, 'int32'), [batch, 1]));
    const rows = kernelsRunOnCpu() ? tf.gatherND(flat, tf.reshape(flatIdx, [batch * m, 1])) : tf.gather(flat, tf.reshape(flatIdx, [batch * m]), 0);
    return tf.reshape(rows, [batch, m, ...rest]) as T;
  });
}
