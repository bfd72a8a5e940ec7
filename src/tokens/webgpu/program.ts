/**
 * Running our own WGSL compute programs through TF.js's WebGPU backend (tfjs-backend-webgpu 4.22).
 *
 * A program is the object the backend's own kernels use (WebGPUProgram): the backend prepends the
 * declarations (one read-only storage array per input, named by `variableNames`; `result` for the
 * output; a `uniforms` struct with every shape plus the program's own fields) and calls
 * `fn main(index : i32)` once per invocation with the flat global index. The output is a new
 * tensor, tracked by the enclosing tf.tidy like any op's.
 *
 * The programs here are written for flat dispatches (one invocation per output element, or per
 * image) and read their inputs by flat index; the shapes they need come as their own uniforms.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { kernelFailureForced } from './kernel-status';
import { SOFTWARE_ADAPTER } from './software-adapter';

/** Invocations per workgroup for the element-wise programs (the backend's own default). */
export const WORKGROUP = 64;

/** What a fused program declares; `program` fills in the rest of WebGPUProgram. */
export interface ProgramSpec {
  /** Names the program in the backend's pipeline cache; must change whenever the code does. */
  key: string;
  /** The family it belongs to (fault handling switches a family off as a whole). */
  family: string;
  inputs: string[];
  outputShape: number[];
  /** Invocations to run (default: one per output element). */
  invocations?: number;
  /** One workgroup of this many invocations per image instead (programs that share workgroup memory). */
  workgroupPerImage?: { images: number; size: number };
  /** The program's own uniforms, `name : i32,` then `name : f32,` fields, in the order of the values passed. */
  uniforms?: string;
  /** The body: WGSL defining `fn main(index : i32)`, plus any helpers. */
  code: string;
}

/**
 * One empty class per program key: TF.js names a program by its `constructor.name` in shader and
 * pipeline labels (what a validation error quotes) and in `tf.time`'s per-program times, where a
 * plain object would read "Object".
 */
const namedClasses = new Map<string, new () => object>();
function namedInstance(key: string): object {
  let named = namedClasses.get(key);
  if (!named) {
    named = { [key]: class {} }[key]; // the class takes the property's name
    namedClasses.set(key, named);
  }
  return new named();
}

function program(spec: ProgramSpec): WebGPUProgram {
  const invocations = spec.invocations ?? spec.outputShape.reduce((a, b) => a * b, 1);
  const broken = kernelFailureForced(spec.family);
  const fields: WebGPUProgram = {
    // what a device that rejects the program sees (fault-handling tests): invalid WGSL
    shaderKey: `tokenscope_${spec.key}${broken ? '_broken' : ''}`,
    outputShape: spec.outputShape,
    variableNames: spec.inputs,
    workgroupSize: [spec.workgroupPerImage?.size ?? WORKGROUP, 1, 1],
    dispatchLayout: { x: spec.outputShape.map((_, i) => i) },
    dispatch: spec.workgroupPerImage ? [spec.workgroupPerImage.images, 1, 1] : [Math.max(1, Math.ceil(invocations / WORKGROUP)), 1, 1],
    uniforms: spec.uniforms,
    getUserCode: () => (broken ? `${spec.code}\n this is not WGSL;` : spec.code),
  };
  return Object.assign(namedInstance(spec.key), fields);
}

/** Whether the WebGPU backend runs on a software adapter (TF.js keeps the adapter's vendor and architecture). */
export function isSoftwareAdapter(backend: WebGPUBackend): boolean {
  const info = (backend as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
  return SOFTWARE_ADAPTER.test(`${info?.vendor ?? ''} ${info?.architecture ?? ''}`);
}

/** The active WebGPU backend (call only when tf.getBackend() is 'webgpu'). */
export function webgpuBackend(): WebGPUBackend {
  return tf.backend() as unknown as WebGPUBackend;
}

/** Runs of each fused program since load, by key (tests check that the fused path really ran). */
export const fusedRuns: Record<string, number> = {};

/**
 * Runs one program with its integer then float uniforms; the result is a tensor owned by the caller
 * (or the enclosing tidy).
 */
export function runProgram(spec: ProgramSpec, inputs: tf.Tensor[], dtype: 'float32' | 'int32', ints: number[] = [], floats: number[] = []): tf.Tensor {
  const backend = webgpuBackend();
  // one entry per scalar field
  const uniforms = [...ints.map((v) => ({ type: 'int32', data: [v] })), ...floats.map((v) => ({ type: 'float32', data: [v] }))];
  // TF.js's WebGPU cast from bool/int32 to float32 keeps the integer buffer and only relabels the
  // tensor; its own programs convert on read, ours read the array raw, so such an input would be
  // declared array<i32> and fail to compile. Give it a real float buffer first.
  const copies: tf.Tensor[] = [];
  const real = inputs.map((t) => {
    if (t.dtype !== 'float32' || storedDtype(t) === 'float32') return t;
    const copy = tf.add(t, tf.scalar(0));
    copies.push(copy);
    return copy;
  });
  try {
    const info = backend.runWebGPUProgram(program(spec), real, dtype, uniforms);
    fusedRuns[spec.key] = (fusedRuns[spec.key] ?? 0) + 1;
    return tf.engine().makeTensorFromTensorInfo(info);
  } finally {
    tf.dispose(copies);
  }
}

/** The dtype the backend stores a tensor's data in (differs from `dtype` after a widening cast). */
function storedDtype(t: tf.Tensor): string {
  const backend = webgpuBackend() as unknown as { tensorMap: { get(id: object): { dtype: string } | undefined } };
  return backend.tensorMap.get(t.dataId)?.dtype ?? t.dtype;
}
