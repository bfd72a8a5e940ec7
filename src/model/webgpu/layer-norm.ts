/**
 * LayerNorm over the last axis of [B, N, C] on WebGPU in one program instead of TF.js's nine
 * (ops.ts `layerNorm`'s formula: biased variance, eps inside the root), one invocation per token.
 * The engine uses it where a reduction adds a norm to the block: MCTF's one-step-ahead step takes
 * the values of the merged tokens from LN1 of them. Checked on the device against `layerNorm`
 * before it runs (src/tokens/webgpu/kernel-status.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnDevice, sameValues } from '../../tokens/webgpu/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { runProgram } from '../../tokens/webgpu/program';
import { layerNorm } from '../ops';

export const LAYER_NORM_FAMILY = 'layer-norm';

export function layerNormProgram(x: tf.Tensor3D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor3D {
  const [batch, n, channels] = x.shape;
  const spec = {
    key: 'layer_norm',
    family: LAYER_NORM_FAMILY,
    inputs: ['x', 'gamma', 'beta'],
    outputShape: [batch, n, channels],
    invocations: batch * n,
    uniforms: 'channels : i32, rows : i32, eps : f32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.rows) { return; }
        let C = uniforms.channels;
        let at = index * C;
        var sum = 0.0;
        for (var c = 0; c < C; c++) { sum = sum + x[at + c]; }
        let mean = sum / f32(C);
        var v = 0.0;
        for (var c = 0; c < C; c++) { let d = x[at + c] - mean; v = v + d * d; }
        let scale = inverseSqrt(v / f32(C) + uniforms.eps);
        for (var c = 0; c < C; c++) { result[at + c] = (x[at + c] - mean) * scale * gamma[c] + beta[c]; }
      }`,
  };
  return runProgram(spec, [x, gamma, beta], 'float32', [channels, batch * n], [eps]) as tf.Tensor3D;
}

/** The program against `layerNorm` on 2 × 7 tokens of 12 channels, one of them constant (variance 0). */
async function checkLayerNorm(): Promise<string | null> {
  const values = Float32Array.from({ length: 2 * 7 * 12 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 5));
  values.fill(0.25, 3 * 12, 4 * 12);
  const x = tf.tensor3d(values, [2, 7, 12]);
  const gamma = tf.tensor1d(Float32Array.from({ length: 12 }, (_, i) => 1 + Math.cos(i) / 2));
  const beta = tf.tensor1d(Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) / 4));
  try {
    return await checkOnDevice(
      () => layerNormProgram(x, gamma, beta, 1e-6),
      () => layerNorm(x, gamma, beta, 1e-6),
      (fused, generic) => sameValues(fused, generic, 1e-5),
      (t) => t.dispose(),
    );
  } finally {
    tf.dispose([x, gamma, beta]);
  }
}

registerFusedFamily(LAYER_NORM_FAMILY, 'layer norm', checkLayerNorm);
