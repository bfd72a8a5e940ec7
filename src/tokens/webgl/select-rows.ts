/**
 * The apply step of a selection (every output row takes exactly one input row, coefficient 1:
 * ATS, top-k, EViT without a fused row) as WebGL programs, the GLSL twin of
 * ../webgpu/select-rows.ts: `select_source_gl` finds, once per output row, the input row whose
 * target it is (−1 if none); `select_rows_gl` then copies one element per fragment, once per tensor.
 * Replaces the generic path's sort of the targets (three GPU-sort programs), where, logicalAnd,
 * range, add and gathers. Its own family, checked against that path.
 *
 * The family also holds the other row picks the methods share, as programs whose shaders serve
 * every token count (src/model/webgl/family.ts says why that matters on WebGL): a selection's
 * assignment from its kept rows (`selectionTargetGL`) and `gatherRows` (`gatherRowsGL`).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnWebGL, sameValues } from './check';
import { registerFusedFamily } from '../webgpu/kernel-status';
import { runGLProgram } from './program';
import { checkSelection } from '../device-check';

export const SELECT_GL_FAMILY = 'select-webgl';

/**
 * An index list inverted: output [B, n] whose entry y is the first position j < positions with
 * list[b, j] = y, or −1. `select_source_gl` (each output row's input, from the targets) and
 * `selection_target_gl` (each input's slot, from the kept rows) are this one search under two names,
 * so the run counts tell them apart.
 */
const firstPosition = (key: string) => ({
  key,
  family: SELECT_GL_FAMILY,
  inputs: ['list'],
  ints: ['positions'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      int found = -1;
      for (int j = 0; j < positions; j++) {
        if (int(round(getList(c.x, j))) == c.y) { found = j; break; }
      }
      setOutput(float(found));
    }`,
});

/**
 * Rows picked by index: output [B, M, C] whose row m is row indices[b, m] of rows [B, count, C], or
 * zeros where the index is outside [0, count). `select_rows_gl` (a selection's apply) and
 * `gather_rows_gl` (`gatherRows`) are this one copy under two names.
 */
const rowsAt = (key: string) => ({
  key,
  family: SELECT_GL_FAMILY,
  inputs: ['rows', 'indices'],
  ints: ['count'],
  code: `
    void main() {
      ivec3 c = getOutputCoords();
      int row = int(round(getIndices(c.x, c.y)));
      setOutput(row >= 0 && row < count ? getRows(c.x, row, c.z) : 0.0);
    }`,
});

const SOURCE = firstPosition('select_source_gl');
const TARGET = firstPosition('selection_target_gl');
const ROWS = rowsAt('select_rows_gl');
const GATHER = rowsAt('gather_rows_gl');

const KEPT = {
  key: 'selection_kept_gl',
  family: SELECT_GL_FAMILY,
  inputs: ['target'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      setOutput(getTarget(c.x, c.y) >= 0.0 ? 1.0 : 0.0);
    }`,
};

/**
 * The assignment of a selection (../assignment.ts `selectionAssignment`): rows [B, K] kept in
 * output order -> target int32 [B, n] (the output slot of each input, −1 if none) and coeff [B, n]
 * (1 where kept), one shader for every n and K.
 */
export function selectionTargetGL(rows: tf.Tensor2D, n: number): [tf.Tensor2D, tf.Tensor2D] {
  const [batch, kept] = rows.shape;
  const target = runGLProgram({ ...TARGET, outputShape: [batch, n] }, [rows], 'int32', [kept]) as tf.Tensor2D;
  return [target, runGLProgram({ ...KEPT, outputShape: [batch, n] }, [target], 'float32') as tf.Tensor2D];
}

/** target [B, N] -> int32 [B, nOut]: the input row of every output row (−1: none). */
export function selectSourceGL(target: tf.Tensor2D, nOut: number): tf.Tensor2D {
  const [batch, nIn] = target.shape;
  return runGLProgram({ ...SOURCE, outputShape: [batch, nOut] }, [target], 'int32', [nIn]) as tf.Tensor2D;
}

/** values [B, N, C] -> [B, nOut, C]: row t is input row source[t] (zeros if none). */
export function selectRowsGL(values: tf.Tensor3D, source: tf.Tensor2D): tf.Tensor3D {
  const [batch, nOut] = source.shape;
  return runGLProgram({ ...ROWS, outputShape: [batch, nOut, values.shape[2]] }, [values, source], 'float32', [values.shape[1]]) as tf.Tensor3D;
}

/**
 * values [B, K, …] at rows indices [B, M] -> [B, M, …] (../gather-rows.ts `gatherRows`): one shader
 * for every K and M, where TF.js's gather compiles one per shape; a row out of range reads zeros, as there.
 */
export function gatherRowsGL<T extends tf.Tensor>(values: T, indices: tf.Tensor2D): T {
  const [batch, k, ...rest] = values.shape;
  const width = rest.reduce((a, b) => a * b, 1);
  const m = indices.shape[1];
  return tf.tidy(() => {
    const rows = runGLProgram(
      { ...GATHER, outputShape: [batch, m, width] },
      [tf.reshape(values, [batch, k, width]), indices],
      values.dtype === 'int32' ? 'int32' : 'float32',
      [k],
    );
    return tf.reshape(rows, [batch, m, ...rest]) as T;
  });
}

/** The device check: two images' selections against the generic gather path, exactly. */
const checkSelect = () => checkSelection(checkOnWebGL, sameValues, (values, target, nOut) => tf.tidy(() => selectRowsGL(values, selectSourceGL(target, nOut))));

/** `gatherRowsGL` against TF.js's gather on two images of [5, 2, 3] rows, repeats and an out-of-range index included. */
async function checkGather(): Promise<string | null> {
  const values = tf.tensor4d(
    Float32Array.from({ length: 2 * 5 * 6 }, (_, i) => Math.cos(i) * 3),
    [2, 5, 2, 3],
  );
  const indices = tf.tensor2d([4, 0, 0, 2, 1, 3, 3, 7], [2, 4], 'int32');
  try {
    return await checkOnWebGL(
      () => gatherRowsGL(values, indices),
      () =>
        tf.tidy(() => {
          const flat = tf.add(indices, tf.tensor2d([[0], [5]], [2, 1], 'int32'));
          const inRange = tf.reshape(tf.less(indices, 5), [2, 4, 1, 1]);
          const rows = tf.reshape(tf.gather(tf.reshape(values, [10, 2, 3]), tf.reshape(tf.minimum(flat, tf.scalar(9, 'int32')), [8]), 0), [2, 4, 2, 3]);
          return tf.where(tf.broadcastTo(inRange, [2, 4, 2, 3]), rows, tf.zerosLike(rows));
        }),
      (a, b) => sameValues(a, b, 0),
      (t) => t.dispose(),
    );
  } finally {
    tf.dispose([values, indices]);
  }
}

/** `selectionTargetGL` against the generic path's one-hot sum, on two images with an empty slot (−1). */
async function checkSelectionTarget(): Promise<string | null> {
  const rows = tf.tensor2d([0, 3, 5, 2, 4, -1], [2, 3], 'int32');
  const generic = (): [tf.Tensor2D, tf.Tensor2D] =>
    tf.tidy(() => {
      const slot = tf.reshape(tf.range(1, 4, 1, 'float32'), [1, 3, 1]);
      const target = tf.cast(tf.sub(tf.sum(tf.mul(tf.cast(tf.oneHot(rows, 6), 'float32'), slot), 1), 1), 'int32') as tf.Tensor2D;
      return [target, tf.cast(tf.greaterEqual(target, 0), 'float32') as tf.Tensor2D];
    });
  try {
    return await checkOnWebGL(
      () => selectionTargetGL(rows, 6),
      generic,
      async (a, b) => (await sameValues(a[0], b[0], 0)) ?? (await sameValues(a[1], b[1], 0)),
      (t) => tf.dispose(t),
    );
  } finally {
    rows.dispose();
  }
}

registerFusedFamily(SELECT_GL_FAMILY, 'selection-apply', async () => (await checkSelect()) ?? (await checkGather()) ?? (await checkSelectionTarget()), 'webgl');
