/**
 * What MCTF builds from its decision on WebGL, the GLSL twin of ../webgpu/mctf-merge.ts. Each
 * program reads the output rows from the decision's rows of `width` columns directly (no slice).
 *
 * - `mctf_coeff_gl` [B, N]: coeff[n] = w[n] / Σ w over the tokens sharing n's row, summed in token
 *   order; w is the size (pooling 0), received attention × size (1) or 1 (2, 3).
 * - `mctf_group_pos_gl` [B, N] and `mctf_groups_gl` [B, N + N' + 1]: the tokens listed by output
 *   row (then by index), and where each row's list starts. With these the merged attention and the
 *   max pooling visit each group's members only: O(group size) per output element instead of a
 *   scan of all N tokens (for the attention, of N per query member: H·N'²·N, ~20 M reads a DeiT
 *   layer, where the lists make it ~H·N'²).
 * - `mctf_attn_next_gl` [B, H, N', N']: out[q', k'] = Σ over queries q in group q' of coeff[q] ·
 *   (Σ over keys k in group k' of probs[q, k]), both in token order; for max pooling the max over q.
 * - `mctf_max_pool_gl` [B, N', C]: max pooling's features, the channel-wise max over each group.
 */
import type * as tf from '@tensorflow/tfjs';
import { runGLProgram } from '../../tokens/webgl/program';
import type { MctfPooling } from '../mctf';
import { MCTF_GL_FAMILY } from './mctf-criteria';

const NEG_INF = 'uintBitsToFloat(0xff800000u)';

const COEFF = {
  key: 'mctf_coeff_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['toRow', 'crit', 'size'],
  ints: ['n', 'pooling'],
  code: `
    float weightOf(int b, int m) {
      float s = getSize(b, m, 0);
      if (pooling == 0) { return s; }
      if (pooling == 1) { return getCrit(b, m, 0) * s; }
      return 1.0;
    }

    void main() {
      ivec2 c = getOutputCoords();
      int t = round(getToRow(c.x, c.y));
      float sum = 0.0;
      for (int m = 0; m < n; m++) {
        if (round(getToRow(c.x, m)) == t) { sum += weightOf(c.x, m); }
      }
      setOutput(weightOf(c.x, c.y) / sum);
    }`,
};

const GROUP_POS = {
  key: 'mctf_group_pos_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['toRow'],
  ints: ['n'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int t = round(getToRow(c.x, c.y));
      int pos = 0;
      for (int m = 0; m < n; m++) {
        int u = round(getToRow(c.x, m));
        if (u < t || (u == t && m < c.y)) { pos++; }
      }
      setOutput(float(pos));
    }`,
};

const GROUPS = {
  key: 'mctf_groups_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['toRow', 'pos'],
  ints: ['n'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int value = 0;
      if (c.y < n) {
        // the token at list position c.y
        for (int m = 0; m < n; m++) { if (round(getPos(c.x, m)) == c.y) { value = m; break; } }
      } else {
        // where row c.y − n starts: the tokens of lower rows
        int t = c.y - n;
        for (int m = 0; m < n; m++) { if (round(getToRow(c.x, m)) < t) { value++; } }
      }
      setOutput(float(value));
    }`,
};

const ATTN_NEXT = {
  key: 'mctf_attn_next_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['probs', 'groups', 'coeff'],
  ints: ['n', 'maxPool'],
  code: `
    void main() {
      ivec4 c = getOutputCoords();
      int b = c.x;
      int q0 = round(getGroups(b, n + c.z));
      int q1 = round(getGroups(b, n + c.z + 1));
      int k0 = round(getGroups(b, n + c.w));
      int k1 = round(getGroups(b, n + c.w + 1));
      float acc = maxPool == 1 ? ${NEG_INF} : 0.0;
      for (int e = q0; e < q1; e++) {
        int q = round(getGroups(b, e));
        float s = 0.0;
        for (int f = k0; f < k1; f++) { s += getProbs(b, c.y, q, round(getGroups(b, f))); }
        acc = maxPool == 1 ? max(acc, s) : acc + getCoeff(b, q) * s;
      }
      setOutput(acc);
    }`,
};

const MAX_POOL = {
  key: 'mctf_max_pool_gl',
  family: MCTF_GL_FAMILY,
  inputs: ['x', 'groups'],
  ints: ['n'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int m0 = round(getGroups(c.x, n + c.y));
      int m1 = round(getGroups(c.x, n + c.y + 1));
      float acc = ${NEG_INF};
      for (int e = m0; e < m1; e++) { acc = max(acc, getX(c.x, round(getGroups(c.x, e)), c.z)); }
      setOutput(acc);
    }`,
};

/** Pooling coefficients [B, N] of the decision's rows, criteria [B, N, 4] and size [B, N, 1]. */
export function mctfCoeffsGL(decided: tf.Tensor2D, criteria: tf.Tensor, size: tf.Tensor3D, pooling: MctfPooling): tf.Tensor2D {
  const [batch, n] = size.shape;
  return runGLProgram({ ...COEFF, outputShape: [batch, n] }, [decided, criteria, size], 'float32', [n, pooling]) as tf.Tensor2D;
}

/** The merged attention and/or max pooling's features, from one listing of the groups. */
export function mctfMergedGL(
  x: tf.Tensor3D,
  probs: tf.Tensor4D,
  decided: tf.Tensor2D,
  coeff: tf.Tensor2D,
  nOut: number,
  want: { attnNext: boolean; maxPool: boolean },
): { attnNext?: tf.Tensor4D; features?: tf.Tensor3D } {
  if (!want.attnNext && !want.maxPool) return {};
  const [batch, n, channels] = x.shape;
  const pos = runGLProgram({ ...GROUP_POS, outputShape: [batch, n] }, [decided], 'int32', [n]);
  const groups = runGLProgram({ ...GROUPS, outputShape: [batch, n + nOut + 1] }, [decided, pos], 'int32', [n]);
  const heads = probs.shape[1];
  const out = {
    attnNext: want.attnNext
      ? (runGLProgram({ ...ATTN_NEXT, outputShape: [batch, heads, nOut, nOut] }, [probs, groups, coeff], 'float32', [n, Number(want.maxPool)]) as tf.Tensor4D)
      : undefined,
    features: want.maxPool ? (runGLProgram({ ...MAX_POOL, outputShape: [batch, nOut, channels] }, [x, groups], 'float32', [n]) as tf.Tensor3D) : undefined,
  };
  pos.dispose();
  groups.dispose();
  return out;
}
