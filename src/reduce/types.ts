/**
 * What a token-reduction method is: its id, slot, needs, decision and overhead. The vocabulary it
 * shares with the model (Assignment, ReduceInput, Reduction) lives in tokens/types.ts.
 */
import type { DeferredReduction, NeedsKey, ReduceInput, Reduction, Slot } from '../tokens/types';

export type MethodId = 'tome' | 'pitome' | 'evit' | 'topk' | 'ats' | 'mctf' | 'diffrate' | 'atc' | 'ppt' | 'gtp';

/** Model dimensions a method's overhead FLOPs depend on. */
export interface Dims {
  /** model width D */
  hidden: number;
  heads: number;
}

/**
 * One token-reduction method. `P` is the method's per-layer parameter record, already resolved
 * for the layer being run (the plan turns schedules into one record per layer).
 */
export interface Reducer<P> {
  id: MethodId;
  label: string;
  slot: Slot;
  kind: 'merge' | 'prune' | 'sample';
  /** What the attention must compute for `reduce`. */
  needs: NeedsKey[];
  /** Runs inside tf.tidy; returns tensors the caller owns. */
  reduce(input: ReduceInput, params: P): Reduction;
  /** Methods with a data-dependent output size also decide in two steps (see DeferredReduction). */
  reduceDeferred?(input: ReduceInput, params: P): DeferredReduction;
  /** The method's own FLOPs at one layer with nIn tokens (docs/METHODS.md#flops), counted apart from the model. */
  overheadFlops(nIn: number, dims: Dims, params: P): number;
}
