/**
 * The apply step of a selection (every output row takes exactly one input row, coefficient 1:
 * ATS, top-k, EViT without a fused row) as WebGL programs, the GLSL twin of
 * ../webgpu/select-rows.ts: `select_source_gl` finds, once per output row, the input row whose
 * target it is (−1 if none); `select_rows_gl` then copies one element per fragment, once per tensor.
 * Replaces the generic path's sort of the targets (three GPU-sort programs), where, logicalAnd,
 * range, add and gathers. Its own family, checked against that path.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnWebGL, sameValues } from './check';
import { registerFusedFamily } from '../webgpu/kernel-status';
import { runGLProgram } from './program';
import { checkSelection } from '../device-check';

export const SELECT_GL_FAMILY = 'select-webgl';

const SOURCE = {
  key: 'select_source_gl',
  family: SELECT_GL_FAMILY,
  inputs: ['toRow'],
  ints: ['nIn'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int source = -1;
      for (int n = 0; n < nIn; n++) {
        if (int(round(getToRow(c.x, n))) == c.y) { source = n; break; }
      }
      setOutput(float(source));
    }`,
};

const ROWS = {
  key: 'select_rows_gl',
  family: SELECT_GL_FAMILY,
  inputs: ['rows', 'source'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int source = int(round(getSource(c.x, c.y)));
      setOutput(source >= 0 ? getRows(c.x, source, c.z) : 0.0);
    }`,
};

/** target [B, N] -> int32 [B, nOut]: the input row of every output row (−1: none). */
export function selectSourceGL(target: tf.Tensor2D, nOut: number): tf.Tensor2D {
  const [batch, nIn] = target.shape;
  return runGLProgram({ ...SOURCE, outputShape: [batch, nOut] }, [target], 'int32', [nIn]) as tf.Tensor2D;
}

/** values [B, N, C] -> [B, nOut, C]: row t is input row source[t] (zeros if none). */
export function selectRowsGL(values: tf.Tensor3D, source: tf.Tensor2D): tf.Tensor3D {
  const [batch, nOut] = source.shape;
  return runGLProgram({ ...ROWS, outputShape: [batch, nOut, values.shape[2]] }, [values, source], 'float32') as tf.Tensor3D;
}

/** The device check: two images' selections against the generic gather path, exactly. */
const checkSelect = () => checkSelection(checkOnWebGL, sameValues, (values, target, nOut) => tf.tidy(() => selectRowsGL(values, selectSourceGL(target, nOut))));

registerFusedFamily(SELECT_GL_FAMILY, 'selection-apply', checkSelect, 'webgl');
