/**
 * The vocabulary the model and the token-reduction methods share (the model offers a hook, a method
 * fills it): where a method acts, what attention hands it, and what it returns.
 *
 * Every method decides an Assignment: for each input token, the output row it goes to (or -1 when
 * it vanishes) and the coefficient it is multiplied by there. One shared function
 * (`applyAssignment` in assignment.ts) applies it to features, sizes and lineage.
 *
 * Shapes: B images, N tokens including CLS (and a distillation token if the model has one),
 * D model width, H heads, dh = D / H, P original tokens (patches + CLS [+ DIST]).
 */
import type * as tf from '@tensorflow/tfjs';

/** Where in a block the method acts. */
export type Slot =
  /** after `x = x + Attn(LN1(x))`, before LN2/MLP (ToMe, PiToMe, EViT, top-k) */
  | 'afterAttention'
  /** after the attention probabilities, choosing which query rows go on (ATS) */
  | 'insideAttention'
  /** before attention, on the block input, handing the merged attention on (MCTF one-step-ahead) */
  | 'beforeAttention';

export interface Assignment {
  /** [B, N] int32: output row of each input token, -1 = dropped. */
  target: tf.Tensor2D;
  /** [B, N] float32: multiplier of each input token's features in its output row. */
  coeff: tf.Tensor2D;
  /** Output rows per image (the same for every image of the batch). */
  nOut: number;
  /** Output row of EViT's fused summary token, when there is one. */
  fusedRow?: number;
}

/** What attention can hand a method. Only what the method `needs` is computed. */
export interface AttentionInfo {
  /** [B, N, dh] keys (after the qkv linear, bias included, before scaling) averaged over heads. */
  keysMean?: tf.Tensor3D;
  /** [B, H, N, N] post-softmax attention (query, key). */
  probs?: tf.Tensor4D;
  /** [B, H, N] the class token's query row of `probs` (all a CLS-scored method reads of it). */
  clsAttn?: tf.Tensor3D;
  /** [B, N] ‖v_j‖₂ of every token's value vector, all heads side by side (dimension D). */
  valueNorms?: tf.Tensor2D;
}

export interface ReduceInput {
  /** [B, N, D] the residual stream at the method's slot. */
  x: tf.Tensor3D;
  /** [B, N, 1] how many original tokens each token stands for. */
  size: tf.Tensor3D;
  /** Whether `size` has been changed by an earlier merge (false: all ones). */
  sizeIsTracked: boolean;
  attention: AttentionInfo;
  /** 0-based block index and model depth. */
  layer: number;
  depth: number;
  /** Token 0 is a class token. */
  classToken: boolean;
  /** Token 1 is a distillation token (DeiT distilled). */
  distillToken: boolean;
  /** Return the decision's evidence with the reduction (`Reduction.evidence`); off: none is kept. */
  evidence?: boolean;
  /** State carried across blocks for this forward (GTP's graph [B, T, T]), when the plan builds one. */
  carried?: tf.Tensor;
}

export type NeedsKey = keyof AttentionInfo;

/**
 * What a method returns to the engine. `assignment` always describes where every input token went
 * (for lineage, sizes, views); `features` overrides `applyAssignment(assignment, x)` for methods
 * whose feature pooling is not a weighted sum (MCTF max pooling); `attnNext` is MCTF's merged
 * attention [B, H, nOut, nOut] that its block uses instead of recomputing one.
 */
export interface Reduction {
  assignment: Assignment;
  features?: tf.Tensor3D;
  attnNext?: tf.Tensor4D;
  /**
   * [B, nOut] int32, for a plain selection (every output row is one input row, coefficient 1, no
   * empty rows): the input row of each output row. The CPU backends then gather these rows rather
   * than scatter through the assignment (1 kernel instead of 6 per tensor).
   */
  rows?: tf.Tensor2D;
  /**
   * [B, N] float32, for a method whose sizes do not simply add up (DiffRate scales each merged
   * token's size by its best similarity): size' = R · (sizeCoeff ⊙ size), and the features come
   * from the assignment through the general (merge-and-drop) path. Default: sizes add, coefficient 1.
   */
  sizeCoeff?: tf.Tensor2D;
  /** The decision's own numbers, when `ReduceInput.evidence` asked for them (tokens/evidence.ts). */
  evidence?: EvidenceTensors;
  /** Replaces the carried state for the next blocks (GTP's shrunk graph); the engine frees the old one. */
  carried?: tf.Tensor;
  /**
   * [B, nOut, 1] the sizes leaving the block, with `features`, for a method that computes both
   * itself (GTP's token scales: kept + alpha · propagated neighbours); they weigh the attention
   * from then on where proportional attention is on.
   */
  sizes?: tf.Tensor3D;
}

/**
 * A method's decision evidence as the decision leaves it: the scores, orders and edges it decided
 * by, each field [B, …] on the batch axis, plus numbers shared by every image (r, the kept count).
 * The tensors are the decision's own, handed on rather than recomputed; `readEvidence` turns them
 * into plain data once per run.
 */
export interface EvidenceTensors {
  method: string;
  fields: Record<string, tf.Tensor>;
  constants: Record<string, number | string | boolean>;
}

/**
 * A decision that needs numbers on the host before it can finish: ATS's kept count (the output
 * size depends on the data), ATC's distance matrix (its merge tree is built in JavaScript). The
 * engine reads `read` back — asynchronously where the backend needs it (WebGPU), so no block
 * stalls the GPU queue with a synchronous read — then calls `complete` with its values, and finally
 * `dispose`, which frees the tensors the deferred decision kept alive in between.
 */
export interface DeferredReduction {
  /** The one tensor the decision reads back. */
  read: tf.Tensor;
  complete(values: HostValues): Reduction;
  dispose(): void;
}

/** What a read-back gives: `tensor.data()` of a float32 or int32 tensor. */
export type HostValues = Float32Array | Int32Array | Uint8Array;
