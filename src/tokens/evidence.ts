/**
 * Decision evidence as plain data: what a method decided by (scores, cut-offs, orders, edges), one
 * record per image, read back from the decision's own tensors (`EvidenceTensors`) once per run.
 *
 * Field layout: a field [B] becomes a number per image, [B, k] a list, [B, k, m] a list of lists;
 * indices keep the method's own meaning (into the scored tokens, into A or B), which the method's
 * reader (reduce/evidence.ts) turns into per-token rows.
 */
import * as tf from '@tensorflow/tfjs';
import type { EvidenceTensors } from './types';

export type EvidenceValue = number | number[] | number[][];

/** One image's evidence at one block. */
export interface Evidence {
  method: string;
  constants: Record<string, number | string | boolean>;
  fields: Record<string, EvidenceValue>;
}

/** Packs a decision's tensors (which then belong to the evidence) and shared numbers. */
export function evidenceOf(method: string, fields: Record<string, tf.Tensor | undefined>, constants: EvidenceTensors['constants'] = {}): EvidenceTensors {
  const present = Object.fromEntries(Object.entries(fields).filter((e): e is [string, tf.Tensor] => e[1] !== undefined));
  return { method, fields: present, constants };
}

function imageSlice(flat: ArrayLike<number>, shape: number[], image: number): EvidenceValue {
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const values = Array.from({ length: per }, (_, i) => flat[image * per + i]);
  if (shape.length <= 1) return values[0];
  if (shape.length === 2) return values;
  const m = shape.slice(2).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[1] }, (_, k) => values.slice(k * m, (k + 1) * m));
}

function split(e: EvidenceTensors, flats: ArrayLike<number>[], batch: number): Evidence[] {
  const names = Object.keys(e.fields);
  return Array.from({ length: batch }, (_, image) => ({
    method: e.method,
    constants: { ...e.constants },
    fields: Object.fromEntries(names.map((name, i) => [name, imageSlice(flats[i], e.fields[name].shape, image)])),
  }));
}

/** Per image, the plain evidence of `e`, read with one `data()` per field (all awaited together). */
export async function readEvidence(e: EvidenceTensors, batch: number): Promise<Evidence[]> {
  const flats = await Promise.all(Object.values(e.fields).map((t) => t.data()));
  return split(e, flats as ArrayLike<number>[], batch);
}

/** `readEvidence` synchronously (Node, the conformance runners). */
export function readEvidenceSync(e: EvidenceTensors, batch: number): Evidence[] {
  return split(
    e,
    Object.values(e.fields).map((t) => t.dataSync()),
    batch,
  );
}

export function disposeEvidence(e: EvidenceTensors | undefined): void {
  if (e) tf.dispose(Object.values(e.fields));
}

/** A field of every image, as the batched nested array the conformance format uses. */
export function batchedField(records: Evidence[], name: string): EvidenceValue[] {
  return records.map((r) => r.fields[name]);
}

/** Per-image host arrays of one length stacked into a [B, k] tensor (int32 for Int32Array parts). */
export function stackImages(parts: (Float32Array | Int32Array)[]): tf.Tensor2D {
  const batch = parts.length;
  const k = parts[0]?.length ?? 0;
  const int = parts[0] instanceof Int32Array;
  const data = int ? new Int32Array(batch * k) : new Float32Array(batch * k);
  parts.forEach((p, b) => data.set(p, b * k));
  return tf.tensor2d(data, [batch, k], int ? 'int32' : 'float32');
}
