/**
 * The shared apply step and the weighted-mean coefficients as WebGL programs, the GLSL twins of
 * ../webgpu/apply-assignment.ts:
 *
 * - `apply_*_gl`: out[b, t, :] = Σ over inputs n with target n = t of coeff[n] · values[b, n, :],
 *   added in input order. One program per tensor instead of building the [nOut, N] matrix R (range,
 *   equal, where, ones, zeros), scaling and a matmul on the generic path. Each output element walks
 *   only its own inputs, listed once per assignment by `apply_links_gl`: scanning all N targets in
 *   every element (the work of the matmul with R) cost DeiT-T's ToMe ~0.2 s per reducing block on
 *   SwiftShader, more than the merge saved (docs/PERFORMANCE.md, WebGL ToMe).
 * - `groupmean_gl`: coeff[n] = w[n] / Σ w over the inputs sharing n's target (input order); 0 for a
 *   dropped input (target −1).
 *
 * Targets are int32, stored as floats by TF.js's WebGL backend: compared after rounding.
 */
import type * as tf from '@tensorflow/tfjs';
import { runGLProgram } from './program';

export const APPLY_GL_FAMILY = 'apply-webgl';

/**
 * Each output row's inputs as linked lists in input order: columns [0, nOut) hold the first input
 * whose target is that row (−1 if none), columns nOut + n the next input after n with n's target
 * (−1 after the last). O(N) per element, computed once per assignment.
 */
const LINKS = {
  key: 'apply_links_gl',
  family: APPLY_GL_FAMILY,
  inputs: ['toRow'],
  ints: ['nIn', 'nOut'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int t = c.y;
      int from = 0;
      if (c.y >= nOut) {
        from = c.y - nOut + 1;
        t = round(getToRow(c.x, c.y - nOut));
      }
      int found = -1;
      if (t >= 0) {
        for (int m = from; m < nIn; m++) {
          if (round(getToRow(c.x, m)) == t) { found = m; break; }
        }
      }
      setOutput(float(found));
    }`,
};

function applySpec(weighted: boolean) {
  return {
    key: `apply_${weighted ? 'weighted' : 'summed'}_gl`,
    family: APPLY_GL_FAMILY,
    inputs: weighted ? ['rows', 'links', 'rowCoeff'] : ['rows', 'links'],
    ints: ['nIn', 'nOut'],
    // walks the output row's list: the same sum in the same (input) order as scanning all N
    // targets, for the cost of the row's own inputs
    code: `
      void main() {
        ivec3 c = getOutputCoords();
        float acc = 0.0;
        int n = round(getLinks(c.x, c.y));
        for (int i = 0; i < nIn; i++) {
          if (n < 0) { break; }
          acc += ${weighted ? 'getRowCoeff(c.x, n) * ' : ''}getRows(c.x, n, c.z);
          n = round(getLinks(c.x, nOut + n));
        }
        setOutput(acc);
      }`,
  };
}
const WEIGHTED = applySpec(true);
const SUMMED = applySpec(false);

const GROUP_MEAN = {
  key: 'groupmean_gl',
  family: APPLY_GL_FAMILY,
  inputs: ['toRow', 'weight'],
  ints: ['nIn'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int t = round(getToRow(c.x, c.y));
      if (t < 0) { setOutput(0.0); return; }
      float sum = 0.0;
      for (int m = 0; m < nIn; m++) {
        if (round(getToRow(c.x, m)) == t) { sum += getWeight(c.x, m); }
      }
      setOutput(getWeight(c.x, c.y) / sum);
    }`,
};

/** target [B, N] (−1 = dropped) into nOut rows -> the lists `applyAssignmentGL` walks, [B, nOut + N]; shared by every tensor applied by one assignment. */
export function assignmentLinksGL(target: tf.Tensor2D, nOut: number): tf.Tensor2D {
  const [batch, nIn] = target.shape;
  return runGLProgram({ ...LINKS, outputShape: [batch, nOut + nIn] }, [target], 'int32', [nIn, nOut]) as tf.Tensor2D;
}

/**
 * values [B, N, C] through target [B, N] (−1 = dropped) into [B, nOut, C], scaled by coeff [B, N]
 * when given; pass `links` (assignmentLinksGL) when applying several tensors by one assignment.
 */
export function applyAssignmentGL(values: tf.Tensor3D, target: tf.Tensor2D, coeff: tf.Tensor2D | null, nOut: number, links?: tf.Tensor2D): tf.Tensor3D {
  const [batch, nIn, channels] = values.shape;
  const spec = { ...(coeff ? WEIGHTED : SUMMED), outputShape: [batch, nOut, channels] };
  const lists = links ?? assignmentLinksGL(target, nOut);
  const out = runGLProgram(spec, coeff ? [values, lists, coeff] : [values, lists], 'float32', [nIn, nOut]) as tf.Tensor3D;
  if (!links) lists.dispose();
  return out;
}

/** The weighted-mean coefficients of target [B, N] and weights [B, N]. */
export function groupMeanGL(target: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D {
  return runGLProgram({ ...GROUP_MEAN, outputShape: target.shape }, [target, weights], 'float32', [target.shape[1]]) as tf.Tensor2D;
}
