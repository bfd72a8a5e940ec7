/**
 * Lessons as data: a lesson is a list of steps; a step sets the live view's state (plan, picture,
 * selected block) for the model in use, says in a few sentences what to look at — with `{name}`
 * slots for numbers computed live from the engine's trace (live.ts), never typed into the text —
 * and may end with something to try or a prediction to make before the answer is revealed.
 */

/** What a step needs to know of the model in use to choose its block numbers and picture. */
export interface ModelShape {
  depth: number;
  /** 1 = the bundled Fashion-MNIST model; 3 = an RGB (ImageNet) checkpoint. */
  channels: number;
  /** Tokens entering the first block (patches, class token and any distillation token). */
  tokens: number;
}

/** A gallery sample for each kind of model: a Fashion-MNIST item for the bundled one, a photo otherwise. */
export interface StepSample {
  grey: string;
  rgb: string;
}

export type TryIt =
  /** A slider over one method parameter (the method panel's control for it). */
  | { kind: 'param'; method: string; param: string; label: string }
  /** A choice among gallery samples. */
  | { kind: 'samples'; label: string; grey: string[]; rgb: string[] }
  /** Step through the blocks with the token view's controls. */
  | { kind: 'blocks'; label: string }
  /** Go on in another lesson (the compare page's, for instance). */
  | { kind: 'link'; label: string; href: string };

/**
 * What a step points at, drawn over the live view from the why view's decision evidence
 * (reduce/evidence.ts): tokens on the grid, edges between them, a row of the FLOPs table or ATS's
 * CDF chart.
 */
export type HighlightKind =
  /** ToMe's set A (every other token; the rest are set B). */
  | 'a-set'
  /** Tokens the method scored and kept as themselves (top-k's CLS-attention top-k). */
  | 'kept'
  /** Tokens dropped or fused at the block: below the cut. */
  | 'cut'
  /** Tokens fused into EViT's summary token. */
  | 'fused'
  /** Tokens that lose their own identity at the block (dropped, fused or merged). */
  | 'removed'
  /** PiToMe's protected tokens. */
  | 'protected'
  /** Tokens ATS's draws pick. */
  | 'sampled'
  /** Tokens picked by more than one draw. */
  | 'duplicates'
  /** Tokens sharing a merged token after the block (the size-weighted means). */
  | 'groups'
  /** Every A token's best-partner edge (ToMe), or every candidate merge (ATC's tree). */
  | 'all-edges'
  /** The edges the decision took. */
  | 'chosen-edges'
  /** MCTF's second direction: the B→A edges taken. */
  | 'b-to-a'
  /** The selected block's row of the per-block FLOPs table. */
  | 'flops-row'
  /** ATS's CDF and draws. */
  | 'cdf';

/** Predict, then reveal: the student marks the patches they expect to have this fate at a block. */
export interface PredictTask {
  /** kept: survives as itself; merged: shares a token with others; sampled: picked by ATS. */
  fate: 'kept' | 'merged' | 'sampled';
  question: string;
}

export interface LessonStep {
  title: string;
  /** 2–4 sentences with `{live-name}` slots (live.ts names). */
  text: string;
  /** A TeX formula, typeset with KaTeX. */
  formula?: string;
  plan(model: ModelShape): string;
  /** The block the step selects (0-based). */
  layer(model: ModelShape): number;
  sample?: StepSample;
  tryIt?: TryIt;
  predict?: PredictTask;
  /** What the live view outlines for this step. */
  highlight?: HighlightKind;
}

export interface Lesson {
  id: string;
  title: string;
  /** One line for the lesson index. */
  summary: string;
  /** What it needs, in words (any model, a reducing plan, …). */
  needs: string;
  steps: LessonStep[];
}
