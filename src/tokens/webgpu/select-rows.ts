/**
 * The apply step of a selection (every output row takes exactly one input row, coefficient 1:
 * EViT and top-k without a fused row, ATS) as one WebGPU program per tensor: one invocation per
 * output row finds its input row among the targets and copies it. The general apply program
 * (apply-assignment.ts) scans every target for every output element, N times the work, which on
 * the software adapter cost more than the generic gather it replaced; the generic path (a sort of
 * the targets and a gather) costs about 10 dispatches. Its own family, checked against that path.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOnDevice, sameValues } from './check';
import { registerFusedFamily } from './kernel-status';
import { runProgram } from './program';
import { checkSelection } from '../device-check';

export const SELECT_FAMILY = 'select';

/** values [B, N, C] -> [B, nOut, C]: row t is the input row whose target is t (zeros if none). */
export function selectRowsProgram(values: tf.Tensor3D, target: tf.Tensor2D, nOut: number): tf.Tensor3D {
  const [batch, nIn, channels] = values.shape;
  const spec = {
    key: 'select_rows',
    family: SELECT_FAMILY,
    inputs: ['rows', 'toRow'],
    outputShape: [batch, nOut, channels],
    invocations: batch * nOut,
    uniforms: 'nIn : i32, nOut : i32, channels : i32, total : i32,',
    code: `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let t = index % uniforms.nOut;
        let b = index / uniforms.nOut;
        var source = -1;
        for (var n = 0; n < uniforms.nIn; n++) {
          if (toRow[b * uniforms.nIn + n] == t) { source = n; break; }
        }
        let C = uniforms.channels;
        for (var c = 0; c < C; c++) {
          var v = 0.0;
          if (source >= 0) { v = rows[(b * uniforms.nIn + source) * C + c]; }
          result[index * C + c] = v;
        }
      }`,
  };
  return runProgram(spec, [values, target], 'float32', [nIn, nOut, channels, batch * nOut]) as tf.Tensor3D;
}

/** The device check: two images' selections against the generic gather path, exactly. */
const checkSelect = () => checkSelection(checkOnDevice, sameValues, selectRowsProgram);

registerFusedFamily(SELECT_FAMILY, 'selection-apply', checkSelect);
