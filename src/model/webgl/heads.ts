/**
 * Moving between tokens and attention heads on WebGL with one program each whose shader does not
 * depend on the token count, where TF.js's slice, transpose and mean compile one per shape (see
 * ./family.ts): q, k or v per head straight from the columns of the qkv projection, the heads
 * merged back, the CLS query row of every head's attention, the keys averaged over heads and the
 * values' norms over all heads.
 */
import type * as tf from '@tensorflow/tfjs';
import { runGLProgram } from '../../tokens/webgl/program';
import { BLOCK_GL_FAMILY } from './layer-norm';

const SPLIT = {
  key: 'split_heads_gl',
  family: BLOCK_GL_FAMILY,
  inputs: ['columns'],
  ints: ['offset', 'headDim'],
  code: `
    void main() {
      ivec4 c = getOutputCoords();
      setOutput(getColumns(c.x, c.z, offset + c.y * headDim + c.w));
    }`,
};

const MERGE = {
  key: 'merge_heads_gl',
  family: BLOCK_GL_FAMILY,
  inputs: ['heads'],
  ints: ['headDim'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int head = c.z / headDim;
      setOutput(getHeads(c.x, head, c.y, c.z - head * headDim));
    }`,
};

const CLS_ROWS = {
  key: 'cls_rows_gl',
  family: BLOCK_GL_FAMILY,
  inputs: ['probs'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      setOutput(getProbs(c.x, c.y, 0, c.z));
    }`,
};

const MEAN_OVER_HEADS = {
  key: 'mean_over_heads_gl',
  family: BLOCK_GL_FAMILY,
  inputs: ['keys'],
  ints: ['heads'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      float sum = 0.0;
      for (int h = 0; h < heads; h++) sum += getKeys(c.x, h, c.y, c.z);
      setOutput(sum / float(heads));
    }`,
};

const VALUE_NORMS = {
  key: 'value_norms_gl',
  family: BLOCK_GL_FAMILY,
  inputs: ['values'],
  ints: ['heads', 'headDim'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      float sum = 0.0;
      for (int h = 0; h < heads; h++) {
        for (int d = 0; d < headDim; d++) {
          float x = getValues(c.x, h, c.y, d);
          sum += x * x;
        }
      }
      setOutput(sqrt(sum));
    }`,
};

/**
 * Columns [offset, offset + heads·headDim) of `columns` [B, N, W] as heads [B, heads, N, headDim]:
 * ops.ts `splitHeads` of that slice.
 */
export function splitHeadsGL(columns: tf.Tensor3D, offset: number, heads: number, headDim: number): tf.Tensor4D {
  const [batch, n] = columns.shape;
  return runGLProgram({ ...SPLIT, outputShape: [batch, heads, n, headDim] }, [columns], 'float32', [offset, headDim]) as tf.Tensor4D;
}

/** Heads [B, H, N, dh] side by side: [B, N, H·dh] (ops.ts `mergeHeads`). */
export function mergeHeadsGL(heads: tf.Tensor4D): tf.Tensor3D {
  const [batch, h, n, headDim] = heads.shape;
  return runGLProgram({ ...MERGE, outputShape: [batch, n, h * headDim] }, [heads], 'float32', [headDim]) as tf.Tensor3D;
}

/** Row 0 (the CLS query) of every head's attention [B, H, N, N]: [B, H, N]. */
export function clsRowsGL(probs: tf.Tensor4D): tf.Tensor3D {
  const [batch, h, , n] = probs.shape;
  return runGLProgram({ ...CLS_ROWS, outputShape: [batch, h, n] }, [probs], 'float32') as tf.Tensor3D;
}

/** Keys [B, H, N, dh] averaged over the heads: [B, N, dh]. */
export function meanOverHeadsGL(keys: tf.Tensor4D): tf.Tensor3D {
  const [batch, h, n, headDim] = keys.shape;
  return runGLProgram({ ...MEAN_OVER_HEADS, outputShape: [batch, n, headDim] }, [keys], 'float32', [h]) as tf.Tensor3D;
}

/** ‖v_n‖₂ over every head's channels of v [B, H, N, dh]: [B, N] (ops.ts `valueNorms` of the merged heads). */
export function valueNormsGL(values: tf.Tensor4D): tf.Tensor2D {
  const [batch, h, n, headDim] = values.shape;
  return runGLProgram({ ...VALUE_NORMS, outputShape: [batch, n] }, [values], 'float32', [h, headDim]) as tf.Tensor2D;
}
