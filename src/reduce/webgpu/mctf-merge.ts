/**
 * What MCTF builds from its decision on WebGPU, one program each: the pooling coefficients, the
 * merged attention handed to the next step and the channel-wise max of max pooling (the layer norm
 * of the merged tokens, which the engine takes the values from, is src/model/webgpu/layer-norm.ts).
 * Each reads the output rows from mctf-decide.ts's rows of `width` columns directly (no slice).
 */
import type * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';
import { MCTF_FAMILY, MCTF_MAX_TOKENS } from './mctf-criteria';

/**
 * coeff[n] = w[n] / Σ w over the tokens sharing n's row, summed in token order (as groupmean); w is
 * the size (pooling 0), received attention × size (1) or 1 (2, 3). [B, N].
 */
export function mctfCoeffs(decided: tf.Tensor2D, criteria: tf.Tensor2D, size: tf.Tensor3D, pooling: number): tf.Tensor2D {
  const [batch, n] = size.shape;
  const spec = {
    key: 'mctf_coeff',
    family: MCTF_FAMILY,
    inputs: ['toRow', 'crit', 'size'],
    outputShape: [batch, n],
    uniforms: 'n : i32, width : i32, pooling : i32, total : i32,',
    code: `
      fn weightOf(b : i32, m : i32) -> f32 {
        let s = size[b * uniforms.n + m];
        if (uniforms.pooling == 0) { return s; }
        if (uniforms.pooling == 1) { return crit[b * 4 * uniforms.n + m] * s; }
        return 1.0;
      }

      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let b = index / uniforms.n;
        let first = b * uniforms.width;
        let t = toRow[first + index % uniforms.n];
        var sum = 0.0;
        for (var m = 0; m < uniforms.n; m++) {
          if (toRow[first + m] == t) { sum = sum + weightOf(b, m); }
        }
        result[index] = weightOf(b, index % uniforms.n) / sum;
      }`,
  };
  return runProgram(spec, [decided, criteria, size], 'float32', [n, decided.shape[1], pooling, batch * n]) as tf.Tensor2D;
}

/**
 * The one-step-ahead attention [B, H, N', N']: out[q', k'] = Σ over queries q in group q' of
 * coeff[q] · (Σ over keys k in group k' of probs[q, k]), both in token order (the generic path's
 * two apply steps, in one); for max pooling the max over q instead of the weighted sum.
 *
 * One invocation per output row (image, head, q'): it finds the queries of its group, sums each
 * one's attention row into the N' key groups in one pass over the keys (a private array of
 * MCTF_MAX_TOKENS), and folds that into its row. O(N) per query, so O(H · N²) in all: a program with
 * one invocation per output element had to scan the rows for the members of both groups, O(H · N³),
 * and cost more than the rest of the block on a software adapter.
 */
export function mctfAttnNext(probs: tf.Tensor4D, decided: tf.Tensor2D, coeff: tf.Tensor2D, nOut: number, maxPool: boolean): tf.Tensor4D {
  const [batch, heads, n] = probs.shape;
  const spec = {
    key: 'mctf_attn_next',
    family: MCTF_FAMILY,
    inputs: ['probs', 'toRow', 'coeff'],
    outputShape: [batch, heads, nOut, nOut],
    invocations: batch * heads * nOut,
    uniforms: 'n : i32, heads : i32, nOut : i32, width : i32, maxPool : i32, total : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let N = uniforms.n;
        let nOut = uniforms.nOut;
        let qOut = index % nOut;
        let bh = index / nOut;
        let b = bh / uniforms.heads;
        let first = b * uniforms.width;
        let out = index * nOut;
        var keysMerged : array<f32, ${MCTF_MAX_TOKENS}>;
        var seen = false;
        for (var q = 0; q < N; q++) {
          if (toRow[first + q] != qOut) { continue; }
          for (var t = 0; t < nOut; t++) { keysMerged[t] = 0.0; }
          let at = (bh * N + q) * N;
          for (var k = 0; k < N; k++) {
            let t = toRow[first + k];
            keysMerged[t] = keysMerged[t] + probs[at + k];
          }
          let w = coeff[b * N + q];
          for (var t = 0; t < nOut; t++) {
            var v = keysMerged[t];
            if (uniforms.maxPool == 0) { v = w * v; }
            if (!seen) {
              result[out + t] = v;
            } else if (uniforms.maxPool == 1) {
              result[out + t] = max(result[out + t], v);
            } else {
              result[out + t] = result[out + t] + v;
            }
          }
          seen = true;
        }
      }`,
  };
  return runProgram(spec, [probs, decided, coeff], 'float32', [n, heads, nOut, decided.shape[1], Number(maxPool), batch * heads * nOut]) as tf.Tensor4D;
}

/** Max pooling's features: the channel-wise max over each group, [B, N, C] -> [B, N', C]. */
export function mctfMaxPool(x: tf.Tensor3D, decided: tf.Tensor2D, nOut: number): tf.Tensor3D {
  const [batch, n, channels] = x.shape;
  const spec = {
    key: 'mctf_max_pool',
    family: MCTF_FAMILY,
    inputs: ['x', 'toRow'],
    outputShape: [batch, nOut, channels],
    uniforms: 'n : i32, nOut : i32, channels : i32, width : i32, total : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let c = index % uniforms.channels;
        let t = (index / uniforms.channels) % uniforms.nOut;
        let b = index / (uniforms.channels * uniforms.nOut);
        var acc = -uniforms.INFINITY;
        for (var m = 0; m < uniforms.n; m++) {
          if (toRow[b * uniforms.width + m] == t) { acc = max(acc, x[(b * uniforms.n + m) * uniforms.channels + c]); }
        }
        result[index] = acc;
      }`,
  };
  return runProgram(spec, [x, decided], 'float32', [n, nOut, channels, decided.shape[1], batch * nOut * channels]) as tf.Tensor3D;
}
