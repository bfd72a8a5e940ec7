/**
 * Running our own GPGPU programs through TF.js's WebGL backend (tfjs-backend-webgl 4.22), the way
 * its own kernels run: a fragment shader per output element. The backend generates the prelude:
 * one sampler per input named by `inputs` (`getX(b, i)` for an input `x`, by logical coordinates,
 * its shape a uniform), `getOutputCoords()` and `setOutput(value)`; int32 tensors are stored as
 * floats, so integer inputs read back as whole floats (exact below 2^24).
 *
 * Shapes are uniforms (`enableShapeUniforms`, as `useBackend('webgl')` sets for TF.js's own
 * programs), and so are the programs' own integers, so one compiled shader serves every token
 * count: a new count costs no compilation.
 */
import * as tf from '@tensorflow/tfjs';
import type { GPGPUProgram, MathBackendWebGL } from '@tensorflow/tfjs';
import { kernelFailureForced } from '../webgpu/kernel-status';

/** What a program declares; `program` fills in the rest of GPGPUProgram. */
export interface GLProgramSpec {
  /** Names the program in the run counts (tests check that the fused path really ran). */
  key: string;
  /** The family it belongs to (fault handling switches a family off as a whole). */
  family: string;
  inputs: string[];
  outputShape: number[];
  /** Names of the program's own int uniforms, in the order of the values passed. */
  ints?: string[];
  /** Names of its float uniforms, passed after the ints. */
  floats?: string[];
  /** GLSL defining `void main()`, plus any helpers. */
  code: string;
}

function program(spec: GLProgramSpec): GPGPUProgram {
  const broken = kernelFailureForced(spec.family);
  return {
    variableNames: spec.inputs,
    outputShape: spec.outputShape,
    enableShapeUniforms: true,
    customUniforms: [...(spec.ints ?? []).map((name) => ({ name, type: 'int' as const })), ...(spec.floats ?? []).map((name) => ({ name, type: 'float' as const }))],
    // what a device that rejects the program sees (fault-handling tests): invalid GLSL
    userCode: `// tokenscope_${spec.key}\n${spec.code}${broken ? '\n this is not GLSL;' : ''}`,
  };
}

/** The active WebGL backend (call only when tf.getBackend() is 'webgl'). */
export function webglBackend(): MathBackendWebGL {
  return tf.backend() as unknown as MathBackendWebGL;
}

/** Runs of each program since load, by key. */
export const glRuns: Record<string, number> = {};

/** The program's output as a TensorInfo the caller frees (kernels return these). */
export function runGLProgramInfo(
  spec: GLProgramSpec,
  inputs: tf.TensorInfo[],
  dtype: 'float32' | 'int32',
  ints: number[] = [],
  floats: number[] = [],
): tf.TensorInfo {
  const info = webglBackend().compileAndRun(
    program(spec),
    inputs,
    dtype,
    [...ints, ...floats].map((v) => [v]),
  );
  glRuns[spec.key] = (glRuns[spec.key] ?? 0) + 1;
  return info;
}

/** Runs one program with its int (and float) uniforms; the result is a tensor owned by the caller (or the enclosing tidy). */
export function runGLProgram(spec: GLProgramSpec, inputs: tf.Tensor[], dtype: 'float32' | 'int32', ints: number[] = [], floats: number[] = []): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(runGLProgramInfo(spec, inputs, dtype, ints, floats));
}
