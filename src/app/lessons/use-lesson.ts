/**
 * The lesson player: when the lesson, its step or the model changes, the step's state (plan fitted
 * to the model, selected block, picture) goes into the URL store and the views follow. Later
 * changes by the student are theirs; the numbers follow them. A step's URL reproduces the step.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { fitPlan } from '../state/plan-fit';
import type { Store } from '../state/store';
import type { UrlState } from '../state/url';
import type { ModelInfo } from '../worker/protocol';
import { findLesson } from './lessons';
import type { Lesson, ModelShape } from './types';

export interface LessonPlayer {
  lesson: Lesson | null;
  /** 0-based, within the lesson. */
  stepIndex: number;
  shape: ModelShape | null;
  /** Why the step's plan changed for this model, when it did. */
  planNote: string | null;
  /** The current step's prediction has been revealed. */
  revealed: boolean;
  reveal(): void;
  goStep(index: number): void;
  open(id: string): void;
  exit(): void;
}

export function modelShape(model: ModelInfo): ModelShape {
  const c = model.config;
  return { depth: c.num_hidden_layers, channels: c.num_channels, tokens: (c.image_size / c.patch_size) ** 2 + 1 + (c.distilled ? 1 : 0) };
}

export function useLessonPlayer(store: Store<UrlState>, url: UrlState, model: ModelInfo | null, showSample: (id: string) => void): LessonPlayer {
  const lesson = findLesson(url.lesson);
  const stepIndex = lesson ? Math.min(Math.max(0, url.step - 1), lesson.steps.length - 1) : 0;
  const shape = model ? modelShape(model) : null;
  const [planNote, setPlanNote] = useState<string | null>(null);
  const [revealed, setRevealed] = useState(false);
  // A step's own link may carry the student's later choices: the first step applied keeps them.
  const [linked] = useState(() => new URLSearchParams(location.search));
  const first = useRef(true);

  useEffect(() => {
    if (!lesson || !model) return;
    const m = modelShape(model);
    const step = lesson.steps[stepIndex];
    const keep = (key: string) => first.current && linked.has(key);
    first.current = false;
    const fitted = fitPlan(step.plan(m), m.depth);
    setPlanNote(fitted.problem ? `This step's plan does not fit ${model.name} (${fitted.problem}); it shows the nearest valid plan, ${fitted.plan}.` : null);
    if (!keep('plan')) store.set({ plan: fitted.plan });
    if (!keep('layer')) store.set({ layer: Math.min(step.layer(m), m.depth - 1) });
    store.set({ step: stepIndex + 1 });
    if (step.sample && !keep('sample')) {
      const id = m.channels === 3 ? step.sample.rgb : step.sample.grey;
      store.set({ sample: id });
      showSample(id);
    }
    setRevealed(false);
    // The step applies when it, its lesson or the model changes; not when the student edits the state.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lesson?.id, stepIndex, model]);

  const goStep = useCallback((index: number) => store.set({ step: index + 1 }), [store]);
  const open = useCallback((id: string) => store.set({ lesson: id, step: 1 }), [store]);
  const exit = useCallback(() => store.set({ lesson: null, step: 1, present: false }), [store]);
  return { lesson, stepIndex, shape, planNote, revealed, reveal: () => setRevealed(true), goStep, open, exit };
}
