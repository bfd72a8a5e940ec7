/**
 * The transformer block's own WebGL programs (family `block-webgl`): LayerNorm, attention's
 * softmax and the moves between tokens and heads, written so that one compiled shader serves every
 * token count.
 *
 * Why: TF.js's reductions, slices and transposes put their input shapes into the shader, so every
 * token count compiles its own set, and with token reduction each block of each plan has its own
 * count. On SwiftShader (measured in headless Chromium, DeiT-T shapes, tests/bench/webgl-programs.ts)
 * the ten default plans used 1,672 distinct shaders between them; once that many were in use, a
 * forward right after another plan ran up to 3× slower than the same forward repeated, consistent
 * with a bounded shader cache below TF.js being evicted and refilled. A GPU driver pays the same
 * compilation the first time a plan runs.
 *
 * Checked on the device against the generic ops (ops.ts) before it runs; a device that rejects a
 * program keeps the generic ops with a note (src/tokens/webgpu/kernel-status.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnWebGL, sameValues } from '../../tokens/webgl/check';
import { registerFusedFamily } from '../../tokens/webgpu/kernel-status';
import { layerNorm, mergeHeads, splitHeads, valueNorms } from '../ops';
import { clsRowsGL, meanOverHeadsGL, mergeHeadsGL, splitHeadsGL, valueNormsGL } from './heads';
import { BLOCK_GL_FAMILY, layerNormGL } from './layer-norm';
import { softmaxGL } from './softmax';

export { BLOCK_GL_FAMILY };

/** Every program against the generic ops on 2 images, 3 heads of 4 channels, 5 tokens (one constant row: variance 0). */
async function checkBlockPrograms(): Promise<string | null> {
  const [B, H, N, dh] = [2, 3, 5, 4];
  const D = H * dh;
  const wave = (count: number, phase: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 1.3 + phase) * 2 + (i % 3) / 4);
  const inputs = tf.tidy(() => {
    const x = wave(B * N * D, 0);
    x.fill(0.5, 2 * D, 3 * D);
    return {
      x: tf.tensor3d(x, [B, N, D]),
      gamma: tf.tensor1d(wave(D, 1)),
      beta: tf.tensor1d(wave(D, 2)),
      columns: tf.tensor3d(wave(B * N * 3 * D, 3), [B, N, 3 * D]),
      logits: tf.tensor4d(
        wave(B * H * N * N, 4).map((v) => v * 4),
        [B, H, N, N],
      ),
      logSize: tf.log(
        tf.tensor2d(
          Float32Array.from({ length: B * N }, (_, i) => 1 + (i % 4)),
          [B, N],
        ),
      ) as tf.Tensor2D,
    };
  });
  const { x, gamma, beta, columns, logits, logSize } = inputs;
  const cases: [string, () => tf.Tensor, () => tf.Tensor][] = [
    ['layer norm', () => layerNormGL(x, gamma, beta, 1e-6), () => layerNorm(x, gamma, beta, 1e-6)],
    ['softmax', () => softmaxGL(logits), () => tf.softmax(logits)],
    ['softmax with sizes', () => softmaxGL(logits, logSize), () => tf.softmax(tf.add(logits, tf.reshape(logSize, [B, 1, 1, N])))],
    ['split heads', () => splitHeadsGL(columns, D, H, dh), () => splitHeads(tf.slice(columns, [0, 0, D], [B, N, D]), H)],
    [
      'merge heads',
      () => mergeHeadsGL(tf.reshape(columns, [B, H, N, 3 * dh]) as tf.Tensor4D),
      () => mergeHeads(tf.reshape(columns, [B, H, N, 3 * dh]) as tf.Tensor4D),
    ],
    ['CLS rows', () => clsRowsGL(logits), () => tf.reshape(tf.slice(logits, [0, 0, 0, 0], [B, H, 1, N]), [B, H, N])],
    ['mean over heads', () => meanOverHeadsGL(logits), () => tf.mean(logits, 1)],
    ['value norms', () => valueNormsGL(logits), () => valueNorms(mergeHeads(logits))],
  ];
  try {
    for (const [name, fused, generic] of cases) {
      const problem = await checkOnWebGL(
        () => tf.tidy(fused),
        () => tf.tidy(generic),
        (a, b) => sameValues(a, b, 1e-5),
        (t) => t.dispose(),
      );
      if (problem) return `${name}: ${problem}`;
    }
    return null;
  } finally {
    tf.dispose(Object.values(inputs));
  }
}

registerFusedFamily(BLOCK_GL_FAMILY, 'transformer block', checkBlockPrograms, 'webgl');
