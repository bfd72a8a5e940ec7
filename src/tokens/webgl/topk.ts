/**
 * tf.topk on WebGL without leaving the GPU, for the short rows token reduction sorts.
 *
 * TF.js 4.22's WebGL TopK hands every row shorter than 100,000 values to the CPU: it reads the
 * tensor back synchronously, sorts in JS and uploads the result (its bitonic GPU sort, the
 * alternative, runs log²-many small programs). ToMe, PiToMe, MCTF, ATS, EViT, top-k and the
 * selection step of the shared apply sort in every reducing layer, so each such layer stalled the
 * pipeline. Here a row of n ≤ 1024 values is sorted by three programs instead:
 *
 * - `topk_rank`: each value counts the values ranked above it — larger, or equal with a lower
 *   index (the CPU sort's order: descending, ties lower index first); NaN ranks below everything.
 *   O(n²) comparisons per row, which for the few hundred tokens of a ViT is far cheaper than a
 *   round trip through the CPU.
 * - `topk_indices` / `topk_values`: output position p takes the value whose rank is p.
 *
 * The values are the input's own (a selection), the indices those of the CPU sort, so results are
 * identical. The kernel replaces TF.js's WebGL TopK in the kernel registry and runs only while its
 * family is on (checked against TF.js's own kernel on this device when WebGL starts,
 * `verifyFusedKernels`); otherwise, and for longer rows, other dtypes or data that already sits in
 * CPU memory, it calls TF.js's kernel unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendWebGL } from '@tensorflow/tfjs';
import { fusedFamilyOn, registerFusedFamily } from '../webgpu/kernel-status';
import { sameValues } from './check';
import { runGLProgramInfo } from './program';

export const TOPK_FAMILY = 'topk-webgl';

/** Longest row sorted on the GPU (O(n²) per row; longer rows, e.g. a sparsity threshold over N², go to TF.js). */
export const MAX_GPU_TOPK_ROW = 1024;

const RANK = {
  key: 'topk_rank',
  family: TOPK_FAMILY,
  inputs: ['x'],
  ints: ['n'],
  code: `
    void main() {
      ivec2 c = getOutputCoords();
      float s = getX(c.x, c.y);
      bool sNaN = isnan(s);
      int rank = 0;
      for (int j = 0; j < n; j++) {
        float o = getX(c.x, j);
        bool oNaN = isnan(o);
        bool above = sNaN ? (!oNaN || j < c.y) : (!oNaN && (o > s || (o == s && j < c.y)));
        if (above) { rank++; }
      }
      setOutput(float(rank));
    }`,
};

/** Output position p takes the input whose rank is p: its index, or its value. */
function pick(what: 'indices' | 'values') {
  return {
    key: `topk_${what}`,
    family: TOPK_FAMILY,
    inputs: ['x', 'rank'],
    ints: ['n'],
    code: `
      void main() {
        ivec2 c = getOutputCoords();
        int found = 0;
        for (int j = 0; j < n; j++) {
          if (int(getRank(c.x, j)) == c.y) { found = j; break; }
        }
        setOutput(${what === 'indices' ? 'float(found)' : 'getX(c.x, found)'});
      }`,
  };
}
const INDICES = pick('indices');
const VALUES = pick('values');

/**
 * Whether `gpuTopK` takes this input: a float32 or int32 row of at most MAX_GPU_TOPK_ROW values,
 * k ≥ 1, already on the GPU. (TF.js's WebGL backend stores int32 as float32 textures, so an int32
 * tensor there holds exact integers only below 2^24 anyway; the programs compare them as stored.)
 */
function takes(backend: MathBackendWebGL, x: tf.TensorInfo, k: number): boolean {
  const n = x.shape[x.shape.length - 1];
  return (
    (x.dtype === 'float32' || x.dtype === 'int32') && x.shape.length >= 1 && n >= 1 && n <= MAX_GPU_TOPK_ROW && k >= 1 && k <= n && !backend.shouldExecuteOnCPU([x])
  );
}

/**
 * The sorted top k of the last axis: [values, indices] as TensorInfos the caller owns, shaped like
 * x with the last axis k.
 */
export function gpuTopK(backend: MathBackendWebGL, x: tf.TensorInfo, k: number): [tf.TensorInfo, tf.TensorInfo] {
  const n = x.shape[x.shape.length - 1];
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  // the programs read an unpacked [rows, n] view (an unpacked texture is row-major whatever its shape)
  const packed = backend.texData.get(x.dataId)?.isPacked === true;
  const unpacked = packed ? backend.unpackTensor(x) : x;
  const view = { dataId: unpacked.dataId, shape: [rows, n], dtype: x.dtype };
  const rank = runGLProgramInfo({ ...RANK, outputShape: [rows, n] }, [view], 'float32', [n]);
  const indices = runGLProgramInfo({ ...INDICES, outputShape: [rows, k] }, [view, rank], 'int32', [n]);
  const values = runGLProgramInfo({ ...VALUES, outputShape: [rows, k] }, [view, rank], x.dtype as 'float32' | 'int32', [n]);
  backend.disposeIntermediateTensorInfo(rank);
  if (packed) backend.disposeIntermediateTensorInfo(unpacked);
  const shape = [...x.shape.slice(0, -1), k];
  return [
    { ...values, shape },
    { ...indices, shape },
  ];
}

// TF.js's own kernel, kept to delegate to and to check against.
const tfjsTopK = tf.getKernel('TopK', 'webgl');

if (tfjsTopK) {
  tf.unregisterKernel('TopK', 'webgl');
  tf.registerKernel({
    ...tfjsTopK,
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendWebGL;
      const x = args.inputs.x as tf.TensorInfo;
      const { k } = args.attrs as unknown as { k: number };
      // (sorted = false leaves the order open; the sorted order is one of them)
      if (fusedFamilyOn(TOPK_FAMILY) && takes(backend, x, k)) return gpuTopK(backend, x, k);
      return tfjsTopK.kernelFunc(args);
    },
  });
}

/** A tensor-level call of `gpuTopK` (the check; the engine reaches it through tf.topk). */
function gpuTopKTensors(x: tf.Tensor, k: number): { values: tf.Tensor; indices: tf.Tensor } {
  const [values, indices] = gpuTopK(tf.backend() as unknown as MathBackendWebGL, x, k);
  return { values: tf.engine().makeTensorFromTensorInfo(values), indices: tf.engine().makeTensorFromTensorInfo(indices) };
}

/**
 * The device check: the GPU sort and TF.js's own on rows with ties, ±∞ and a repeated maximum, at
 * full length and at k < n, 2-D and 3-D, float32 and int32; values and indices must be identical.
 */
async function checkTopK(): Promise<string | null> {
  if (!tfjsTopK) return 'TF.js has no WebGL TopK kernel to replace';
  const n = 23;
  const data = Float32Array.from({ length: 6 * n }, (_, i) => Math.round(Math.sin(i * 12.9898) * 8) / 4); // many ties
  data[3] = -Infinity;
  data[7] = -Infinity;
  data[n + 2] = Infinity;
  data[2 * n + 5] = data[2 * n + 9] = 9; // a tied maximum
  const x = tf.tensor3d(data, [2, 3, n]);
  const flat = tf.reshape(x, [6, n]);
  const ints = tf.tensor2d(
    Int32Array.from({ length: 2 * n }, (_, i) => (i * 7) % 5),
    [2, n],
    'int32',
  );
  try {
    for (const [input, k] of [
      [flat, n],
      [flat, 5],
      [x, 1],
      [x, n],
      [ints, n],
    ] as const) {
      const mine = gpuTopKTensors(input, k);
      const theirs = tf.topk(input, k); // the family is not on during its check: TF.js's kernel
      try {
        const problem = (await sameValues(mine.indices, theirs.indices, 0)) ?? (await sameValues(mine.values, theirs.values, 0));
        if (problem) return `top-${k} of ${input.shape}: ${problem}`;
      } finally {
        tf.dispose([mine.values, mine.indices, theirs.values, theirs.indices]);
      }
    }
    return null;
  } finally {
    tf.dispose([x, flat, ints]);
  }
}

registerFusedFamily(TOPK_FAMILY, 'sort (top-k)', checkTopK, 'webgl');
