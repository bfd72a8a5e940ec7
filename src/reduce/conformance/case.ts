/**
 * The conformance case format (tests/fixtures/conformance/README.md; the official cases are bundled
 * there), and small helpers that turn its nested arrays into tensors and back.
 */
import * as tf from '@tensorflow/tfjs';

export type Nested = number | boolean | string | null | Nested[];

export interface ConformanceCase {
  method: string;
  case: string;
  title: string;
  params: Record<string, unknown>;
  inputs: Record<string, Nested>;
  outputs: Record<string, unknown>;
  compare: Record<string, { mode: string; required?: boolean; [k: string]: unknown }>;
  tie_dependent?: string[];
  notes?: unknown;
}

/** What a method's runner returns: output field name -> value (nested arrays, numbers, booleans, strings). */
export type CaseOutputs = Record<string, unknown>;
export type CaseRunner = (c: ConformanceCase) => CaseOutputs | Promise<CaseOutputs>;
/** A runner that reads its outputs synchronously (only right where every tensor is CPU-readable). */
export type SyncCaseRunner = (c: ConformanceCase) => CaseOutputs;

/**
 * Reads the tensors asynchronously first, so the runner's synchronous reads after it come from
 * the copy TF.js keeps (WebGPU has no working synchronous read on every adapter: on Chromium's
 * software adapter dataSync returns zeros).
 */
export async function readAhead(tensors: (tf.Tensor | null | undefined)[]): Promise<void> {
  await Promise.all(tensors.filter((t): t is tf.Tensor => t != null).map((t) => t.data()));
}

function decode(v: Nested): number {
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  return Number(v);
}

function shapeOf(v: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur.length > 0 ? cur[0] : 0;
  }
  return shape;
}

/** Nested JSON array -> float32 tensor (inputs are float32(decimal) on both sides, bit-identical). */
export function floatTensor(v: Nested): tf.Tensor {
  const shape = shapeOf(v);
  const flat = (Array.isArray(v) ? (v as Nested[]).flat(Infinity as 1) : [v]) as Nested[];
  return tf.tensor(Float32Array.from(flat.map(decode)), shape, 'float32');
}

/** Tensor -> nested array with non-finite floats as the strings the format uses. */
export function toNested(t: tf.Tensor): unknown {
  const encode = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(encode) : typeof x === 'number' && !Number.isFinite(x) ? (Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity') : x;
  if (t.size === 0) {
    // arraySync collapses zero-length axes ([1, 0] -> []); the format keeps them ([[]]).
    const empty = (shape: number[]): unknown[] => (shape.length <= 1 || shape[0] === 0 ? [] : Array.from({ length: shape[0] }, () => empty(shape.slice(1))));
    return empty(t.shape);
  }
  return encode(t.arraySync());
}
