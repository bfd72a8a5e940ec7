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
  | { kind: 'blocks'; label: string };

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
