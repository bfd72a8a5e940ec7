/**
 * ATS's whole decision as one WebGPU program, one workgroup per image (docs/METHODS.md#ats): the
 * significance of the patch tokens from the CLS rows and the value norms (with the ATS softmax's
 * eps terms when asked), normalised; their ascending order (ties lower index first, as the generic
 * path's tf.topk of the negation); the CDF (added in order, as torch.cumsum) normalised by its
 * min and max; the M draws; each draw's nearest CDF entry (first index on ties, as ArgMin / TopK);
 * the de-duplicated picks (get_unique_indices); the kept token of every output slot and the kept
 * count. Replaces the eps terms, sums, sorts (three tf.topk sorts and a k = 1 TopK over [M, W]),
 * cumsum, min/max, the draws' arithmetic, concat, where and gathers of the generic path.
 *
 * Every intermediate is written to the output and read back from it by the later phases (storage
 * barriers between them), so workgroup memory holds only per-head constants and four scalars, and
 * the token count is not limited by it. Each float step is the generic path's float32 operation in
 * the same order where the order is defined (the sum over heads, the sequential CDF); the short
 * serial steps (sums, CDF, min/max, the compaction of unique picks: O(T) each) run on one invocation.
 *
 * Output float32 [B, width], per image (integers exact in float32), see `atsPackedLayout`.
 */
import * as tf from '@tensorflow/tfjs';
import { runProgram } from '../../tokens/webgpu/program';

export const ATS_FAMILY = 'ats';
/** Heads whose eps terms fit in workgroup memory; more heads run on the generic path. */
export const ATS_MAX_HEADS = 64;
const WORKGROUP = 256;

/** Column offsets of each field in an image's row of the packed output. */
export interface AtsPackedLayout {
  t: number;
  m: number;
  /** min(M, T): slots after CLS. */
  slots: number;
  significance: number;
  sortedScores: number;
  sortedIndices: number;
  normalizedCdf: number;
  ys: number;
  picks: number;
  uniqueIndices: number;
  /** 1 + slots entries: CLS (0), then the token of each slot, −1 = empty. */
  keptTokens: number;
  count: number;
  width: number;
}

export function atsPackedLayout(t: number, m: number): AtsPackedLayout {
  const slots = Math.min(m, t);
  const keptTokens = 4 * t + 3 * m;
  const count = keptTokens + 1 + slots;
  return {
    t,
    m,
    slots,
    significance: 0,
    sortedScores: t,
    sortedIndices: 2 * t,
    normalizedCdf: 3 * t,
    ys: 4 * t,
    picks: 4 * t + m,
    uniqueIndices: 4 * t + 2 * m,
    keptTokens,
    count,
    width: count + 1,
  };
}

/** How the draws meet the CDF (ats.ts `AtsSampling`, flattened). */
export interface AtsFusedSampling {
  samples: number;
  crop: boolean;
}

/** torch.linspace(0, 1, m) · (m − 1) in float32, as the generic path's tf.mul(lin, m − 1). */
function scaledLinspace(m: number): Float32Array {
  const step = Math.fround(1 / (m - 1));
  const half = Math.floor(m / 2);
  return Float32Array.from({ length: m }, (_, i) => {
    const lin = i < half ? Math.fround(step * i) : Math.fround(1 - Math.fround(step * (m - 1 - i)));
    return Math.fround(lin * (m - 1));
  });
}

/**
 * clsRows [B, H, N] (post-softmax CLS query rows), norms [B, N] -> packed [B, width]. With
 * `epsTerms` the ATS softmax's eps terms are applied to the rows first (ats.ts `atsEpsTerms`).
 */
export function atsSamplePacked(clsRows: tf.Tensor3D, norms: tf.Tensor2D, sampling: AtsFusedSampling, epsTerms: boolean, eps: number): tf.Tensor2D {
  const [batch, heads, n] = clsRows.shape;
  const t = n - 1;
  const m = sampling.samples;
  const layout = atsPackedLayout(t, m);
  // the window of CDF entries the draws are matched against (ats.ts atsInverseTransformSample):
  // left-padded with zeros to M entries, or cropped to the top M, or the whole CDF
  let shift = 0;
  let window = t;
  if (m > t || (m < t && sampling.crop)) {
    shift = m - t;
    window = m;
  }
  const L = layout;
  const spec = {
    key: 'ats_sample',
    family: ATS_FAMILY,
    inputs: ['clsRows', 'valueNorm', 'linScaled'],
    outputShape: [batch, layout.width],
    workgroupPerImage: { images: batch, size: WORKGROUP },
    uniforms:
      'n : i32, t : i32, m : i32, heads : i32, shift : i32, window : i32, slots : i32, width : i32, epsTerms : i32, ' +
      'oSortedScores : i32, oSortedIndices : i32, oCdf : i32, oYs : i32, oPicks : i32, oUnique : i32, oKept : i32, oCount : i32, ' +
      'liftScale : f32, denomScale : f32,',
    code: `
      var<workgroup> lifts : array<f32, ${ATS_MAX_HEADS}>;
      var<workgroup> denominators : array<f32, ${ATS_MAX_HEADS}>;
      var<workgroup> stats : array<f32, 4>;

      fn phaseEnd() {
        storageBarrier();
        workgroupBarrier();
      }

      fn main(index : i32) {
        let b = i32(workgroupId.x);
        let lid = i32(localId.x);
        let N = uniforms.n;
        let T = uniforms.t;
        let M = uniforms.m;
        let H = uniforms.heads;
        let row = b * uniforms.width;
        let SIG = row;
        let SS = row + uniforms.oSortedScores;
        let SI = row + uniforms.oSortedIndices;
        let CDF = row + uniforms.oCdf;
        let YS = row + uniforms.oYs;
        let PK = row + uniforms.oPicks;
        let UQ = row + uniforms.oUnique;
        let KEPT = row + uniforms.oKept;

        // eps terms of each head's row: (s + max s · eps/N) / (1 + max s · eps)
        for (var h = lid; h < H; h = h + ${WORKGROUP}) {
          var top = clsRows[(b * H + h) * N];
          for (var j = 1; j < N; j++) { top = max(top, clsRows[(b * H + h) * N + j]); }
          lifts[h] = top * uniforms.liftScale;
          denominators[h] = top * uniforms.denomScale + 1.0;
        }
        workgroupBarrier();
        // s_j = (sum over heads of P[h, 0, j]) · ‖v_j‖, j after CLS
        for (var j = lid; j < T; j = j + ${WORKGROUP}) {
          var a = 0.0;
          for (var h = 0; h < H; h++) {
            let p = clsRows[(b * H + h) * N + 1 + j];
            if (uniforms.epsTerms == 1) { a = a + (p + lifts[h]) / denominators[h]; } else { a = a + p; }
          }
          result[SIG + j] = a * valueNorm[b * N + 1 + j];
        }
        phaseEnd();
        if (lid == 0) {
          var total = 0.0;
          for (var j = 0; j < T; j++) { total = total + result[SIG + j]; }
          stats[0] = total;
        }
        phaseEnd();
        let total = stats[0];
        for (var j = lid; j < T; j = j + ${WORKGROUP}) { result[SIG + j] = result[SIG + j] / total; }
        phaseEnd();

        // ascending order: rank = tokens with a lower score, or the same score and a lower index
        for (var i = lid; i < T; i = i + ${WORKGROUP}) {
          let s = result[SIG + i];
          var rank = 0;
          for (var k = 0; k < T; k++) {
            let o = result[SIG + k];
            if (o < s || (o == s && k < i)) { rank = rank + 1; }
          }
          result[SS + rank] = s;
          result[SI + rank] = f32(i);
        }
        phaseEnd();

        // CDF in order, its min and max
        if (lid == 0) {
          var acc = result[SS];
          var lo = acc;
          var hi = acc;
          result[CDF] = acc;
          for (var k = 1; k < T; k++) {
            acc = acc + result[SS + k];
            result[CDF + k] = acc;
            lo = min(lo, acc);
            hi = max(hi, acc);
          }
          stats[1] = lo;
          stats[2] = hi - lo;
        }
        phaseEnd();
        let lo = stats[1];
        let span = stats[2];
        for (var k = lid; k < T; k = k + ${WORKGROUP}) { result[CDF + k] = (result[CDF + k] - lo) / span; }
        phaseEnd();

        // create_ys: y0 = the smallest non-zero normalised CDF value (zeros count as 1e8)
        if (lid == 0) {
          var y0 = select(result[CDF], 1e8, result[CDF] == 0.0);
          for (var k = 1; k < T; k++) { y0 = min(y0, select(result[CDF + k], 1e8, result[CDF + k] == 0.0)); }
          stats[3] = y0;
        }
        phaseEnd();
        let y0 = stats[3];
        for (var i = lid; i < M; i = i + ${WORKGROUP}) {
          result[YS + i] = y0 + (linScaled[i] - y0 * f32(i)) / f32(M - 1);
        }
        phaseEnd();

        // nearest window entry of each draw, first index on ties; window entry j is CDF entry j − shift (0 before it)
        for (var i = lid; i < M; i = i + ${WORKGROUP}) {
          let y = result[YS + i];
          var best = 0;
          var bestDistance = 0.0;
          for (var j = 0; j < uniforms.window; j++) {
            let at = j - uniforms.shift;
            var w = 0.0;
            if (at >= 0) { w = result[CDF + at]; }
            let d = abs(y - w);
            if (j == 0 || d < bestDistance) { best = j; bestDistance = d; }
          }
          result[PK + i] = f32(best - uniforms.shift);
        }
        phaseEnd();

        // picks ascending (into the unique field, then de-duplicated there)
        for (var i = lid; i < M; i = i + ${WORKGROUP}) {
          let p = result[PK + i];
          var rank = 0;
          for (var k = 0; k < M; k++) {
            let o = result[PK + k];
            if (o < p || (o == p && k < i)) { rank = rank + 1; }
          }
          result[UQ + rank] = p;
        }
        phaseEnd();
        // get_unique_indices: a value equal to its right neighbour (the last compared with 1) becomes
        // T and sorts last; the others keep their ascending order. Compacted in place: the write
        // position never passes the read position.
        if (lid == 0) {
          var w = 0;
          for (var i = 0; i < M; i++) {
            let p = result[UQ + i];
            var next = 1.0;
            if (i < M - 1) { next = result[UQ + i + 1]; }
            if (next != p) {
              result[UQ + w] = p;
              w = w + 1;
            }
          }
          for (var i = w; i < M; i++) { result[UQ + i] = f32(T); }
        }
        phaseEnd();

        // slots: CLS, then the token at each unique position (T: an empty slot, −1)
        if (lid == 0) {
          result[KEPT] = 0.0;
          var count = 1;
          for (var s = 0; s < uniforms.slots; s++) {
            if (i32(result[UQ + s]) < T) { count = count + 1; }
          }
          result[row + uniforms.oCount] = f32(count);
        }
        for (var s = lid; s < uniforms.slots; s = s + ${WORKGROUP}) {
          let u = i32(result[UQ + s]);
          var token = -1.0;
          if (u < T) { token = result[SI + max(u, 0)] + 1.0; }
          result[KEPT + 1 + s] = token;
        }
      }`,
  };
  return tf.tidy(() => {
    const lin = tf.tensor1d(scaledLinspace(m));
    const ints = [
      n,
      t,
      m,
      heads,
      shift,
      window,
      L.slots,
      L.width,
      Number(epsTerms),
      L.sortedScores,
      L.sortedIndices,
      L.normalizedCdf,
      L.ys,
      L.picks,
      L.uniqueIndices,
      L.keptTokens,
      L.count,
    ];
    return runProgram(spec, [clsRows, norms, lin], 'float32', ints, [eps / n, eps]) as tf.Tensor2D;
  });
}
