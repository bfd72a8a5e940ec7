/**
 * The shared apply step as one WebGPU program: out[b, t, :] = Σ over inputs n with target n = t of
 * coeff[n] · values[b, n, :], added in input order (the CPU scatter's order). One dispatch per
 * tensor, instead of building the [nOut, N] matrix R (range, equal, where, ones, zeros) and a
 * matmul per tensor on the generic path. Without `coeff` every input counts once (sizes, lineage).
 *
 * Two layouts of the same sums (each element starts at 0 and takes its inputs in input order, so
 * they agree bit for bit):
 * - 'row', one invocation per output row: it walks the N targets of its image once and adds each
 *   of its inputs' C values into the row, O(N + k·C) for k inputs. For a software adapter, which
 *   runs invocations on a few CPU cores: one invocation per element, each scanning the N targets,
 *   did the scan C times over (O(nOut · C · N), about 7 M steps for a DeiT-T block) and cost
 *   0.14–0.3 s a call there.
 * - 'element', one invocation per output element: that scan C times over is what a GPU does best,
 *   while the row layout keeps a DeiT-T block's 184 rows in 3 workgroups of serial loops. On an
 *   NVIDIA H200 (Dawn, Vulkan) the row layout took 8–12 ms of GPU time per DeiT-T forward for ToMe,
 *   PiToMe and MCTF at batch 1 (the whole unreduced model: 5 ms) and 19–23 ms at batch 32, the
 *   element layout 3 ms there (docs/PERFORMANCE.md, "WebGPU on a GPU").
 * A hardware adapter gets 'element', a software one 'row'.
 */
import type * as tf from '@tensorflow/tfjs';
import { isSoftwareAdapter, runProgram, webgpuBackend, type ProgramSpec } from './program';

export const APPLY_FAMILY = 'apply';

export type ApplyLayout = 'row' | 'element';
let forcedLayout: ApplyLayout | null = null;

/** Forces a layout (tests compare the two on one adapter); null goes back to choosing by adapter. */
export function forceApplyLayout(layout: ApplyLayout | null): void {
  forcedLayout = layout;
}

function applyLayout(): ApplyLayout {
  return forcedLayout ?? (isSoftwareAdapter(webgpuBackend()) ? 'row' : 'element');
}

function applySpec(batch: number, nOut: number, channels: number, weighted: boolean, layout: ApplyLayout): ProgramSpec {
  const inputs = weighted ? ['rows', 'toRow', 'rowCoeff'] : ['rows', 'toRow'];
  const uniforms = 'nIn : i32, nOut : i32, channels : i32, total : i32,';
  const kind = weighted ? 'weighted' : 'summed';
  if (layout === 'element')
    return {
      key: `apply_${kind}_element`,
      family: APPLY_FAMILY,
      inputs,
      outputShape: [batch, nOut, channels],
      uniforms,
      code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let C = uniforms.channels;
        let c = index % C;
        let row = index / C;
        let t = row % uniforms.nOut;
        let b = row / uniforms.nOut;
        var sum = 0.0;
        for (var n = 0; n < uniforms.nIn; n++) {
          let at = b * uniforms.nIn + n;
          if (toRow[at] != t) { continue; }
          sum = sum + ${weighted ? 'rowCoeff[at] * ' : ''}rows[at * C + c];
        }
        result[index] = sum;
      }`,
    };
  return {
    key: `apply_${kind}`,
    family: APPLY_FAMILY,
    inputs,
    outputShape: [batch, nOut, channels],
    uniforms,
    invocations: batch * nOut,
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let t = index % uniforms.nOut;
        let b = index / uniforms.nOut;
        let C = uniforms.channels;
        let out = index * C;
        for (var c = 0; c < C; c++) { result[out + c] = 0.0; }
        for (var n = 0; n < uniforms.nIn; n++) {
          let at = b * uniforms.nIn + n;
          if (toRow[at] != t) { continue; }
          ${weighted ? 'let w = rowCoeff[at];' : ''}
          for (var c = 0; c < C; c++) {
            result[out + c] = result[out + c] + ${weighted ? 'w * ' : ''}rows[at * C + c];
          }
        }
      }`,
  };
}

/** values [B, N, C] through target [B, N] (−1 = dropped) into [B, nOut, C], scaled by coeff [B, N] when given. */
export function applyAssignmentProgram(values: tf.Tensor3D, target: tf.Tensor2D, coeff: tf.Tensor2D | null, nOut: number): tf.Tensor3D {
  const [batch, nIn, channels] = values.shape;
  const layout = applyLayout();
  const spec = applySpec(batch, nOut, channels, coeff !== null, layout);
  const inputs = coeff ? [values, target, coeff] : [values, target];
  const total = layout === 'element' ? batch * nOut * channels : batch * nOut;
  return runProgram(spec, inputs, 'float32', [nIn, nOut, channels, total]) as tf.Tensor3D;
}

/**
 * coeff[n] = w[n] / Σ w over the inputs sharing n's target, summed in input order; 0 for a dropped
 * input (target −1). The weighted-mean coefficients of every merging method, one dispatch.
 */
export function groupMeanProgram(target: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D {
  const [batch, nIn] = target.shape;
  const spec: ProgramSpec = {
    key: 'groupmean',
    family: APPLY_FAMILY,
    inputs: ['toRow', 'weight'],
    outputShape: [batch, nIn],
    uniforms: 'nIn : i32, total : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let t = toRow[index];
        if (t < 0) { result[index] = 0.0; return; }
        let first = (index / uniforms.nIn) * uniforms.nIn;
        var sum = 0.0;
        for (var m = first; m < first + uniforms.nIn; m++) {
          if (toRow[m] == t) { sum = sum + weight[m]; }
        }
        result[index] = weight[index] / sum;
      }`,
  };
  return runProgram(spec, [target, weights], 'float32', [nIn, batch * nIn]) as tf.Tensor2D;
}

/**
 * k [B, H, N, dh] -> [B, N, dh], the mean over heads (heads added in order, then divided by H): the
 * keys ToMe and PiToMe match on. One dispatch; the generic tf.mean over axis 1 transposes first.
 */
export function meanOverHeadsProgram(k: tf.Tensor4D): tf.Tensor3D {
  const [batch, heads, n, dh] = k.shape;
  const spec: ProgramSpec = {
    key: 'headmean',
    family: APPLY_FAMILY,
    inputs: ['keys'],
    outputShape: [batch, n, dh],
    uniforms: 'heads : i32, rows : i32, total : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let b = index / uniforms.rows;
        let within = index % uniforms.rows;
        var sum = 0.0;
        for (var h = 0; h < uniforms.heads; h++) { sum = sum + keys[(b * uniforms.heads + h) * uniforms.rows + within]; }
        result[index] = sum / f32(uniforms.heads);
      }`,
  };
  return runProgram(spec, [k], 'float32', [heads, n * dh, batch * n * dh]) as tf.Tensor3D;
}

/**
 * v [B, H, N, dh] -> [B, N], ‖v_n‖₂ over every head's channels (heads in order, channels in order
 * within a head): ATS's value norms. One dispatch where the generic path merges the heads (a
 * transpose) and runs square, sum and sqrt.
 */
export function valueNormsProgram(v: tf.Tensor4D): tf.Tensor2D {
  const [batch, heads, n, dh] = v.shape;
  const spec: ProgramSpec = {
    key: 'valuenorms',
    family: APPLY_FAMILY,
    inputs: ['values'],
    outputShape: [batch, n],
    uniforms: 'heads : i32, rows : i32, headDim : i32, total : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let b = index / uniforms.rows;
        let row = index % uniforms.rows;
        var sum = 0.0;
        for (var h = 0; h < uniforms.heads; h++) {
          let start = ((b * uniforms.heads + h) * uniforms.rows + row) * uniforms.headDim;
          for (var c = 0; c < uniforms.headDim; c++) { let x = values[start + c]; sum = sum + x * x; }
        }
        result[index] = sqrt(sum);
      }`,
  };
  return runProgram(spec, [v], 'float32', [heads, n, dh, batch * n]) as tf.Tensor2D;
}
