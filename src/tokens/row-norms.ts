import * as tf from '@tensorflow/tfjs';
import { fusedFamilyOn } from './webgpu/kernel-status';
import { ROW_NORMS_GL_FAMILY, rowNormsGL } from './webgl/row-norms';

/** ‖x_n‖₂ of every row of x [B, N, C]: [B, N, 1]. On WebGL one program for every N (webgl/row-norms.ts). */
export function rowNorms(x: tf.Tensor3D): tf.Tensor3D {
  return fusedFamilyOn(ROW_NORMS_GL_FAMILY) ? rowNormsGL(x) : (tf.norm(x, 'euclidean', 2, true) as tf.Tensor3D);
}
