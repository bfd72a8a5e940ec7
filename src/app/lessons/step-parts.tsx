/**
 * What the playground's and the compare page's lesson panels share: the panel's frame (title,
 * "k / n", previous/next, the live region that announces each step), a step's text with every
 * number in its own live element, a typeset formula, and the ←/→ (and space) keys.
 */
import katex from 'katex';
import 'katex/dist/katex.min.css';
import { useEffect, useMemo, type ReactNode } from 'react';
import { PLAY_EVENT } from '../views/TokenView';
import { splitSlots } from './live';

export function Formula({ tex }: { tex: string }) {
  // Our own constant TeX (lessons.ts), never user input; KaTeX escapes what it renders.
  const html = useMemo(() => katex.renderToString(tex, { displayMode: true, throwOnError: false, output: 'htmlAndMathml' }), [tex]);
  return <div className="lesson-formula" dangerouslySetInnerHTML={{ __html: html }} />;
}

export function StepText({ text, live }: { text: string; live: Record<string, string> | null }) {
  return (
    <p data-testid="lesson-text">
      {splitSlots(text).map((part, i) =>
        'text' in part ? (
          <span key={i}>{part.text}</span>
        ) : (
          <strong key={i} className="lesson-live" data-testid="lesson-live" data-name={part.slot}>
            {live?.[part.slot] ?? '…'}
          </strong>
        ),
      )}
    </p>
  );
}

/** ←/→ move between steps from anywhere but a text field; space plays the block animation. */
function useStepKeys(step: number, n: number, onStep: (step: number) => void): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
      if (e.key === 'ArrowRight' && step < n - 1) onStep(step + 1);
      else if (e.key === 'ArrowLeft' && step > 0) onStep(step - 1);
      else if (e.key === ' ' && (!target || target === document.body)) window.dispatchEvent(new Event(PLAY_EVENT));
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [step, n, onStep]);
}

/** The step's text with its live numbers filled in, for the live region; empty until they exist. */
function announcement(text: string, live: Record<string, string> | null): string {
  return live
    ? splitSlots(text)
        .map((p) => ('text' in p ? p.text : (live[p.slot] ?? '…')))
        .join('')
    : '';
}

interface FrameProps {
  lessonTitle: string;
  stepTitle: string;
  /** 0-based. */
  step: number;
  steps: number;
  /** The step's text with its live numbers, announced when the step changes. */
  text: string;
  live: Record<string, string> | null;
  /** The muted line above the title: where the numbers come from, links out, leave. */
  context: ReactNode;
  onStep(step: number): void;
  /** The step's own content, between the heading and the navigation. */
  children: ReactNode;
}

/** A lesson panel: heading, the step's content, previous/next (and the keys), the live region. */
export function LessonFrame({ lessonTitle, stepTitle, step, steps, text, live, context, onStep, children }: FrameProps) {
  useStepKeys(step, steps, onStep);
  return (
    <section className="panel lesson-panel" aria-labelledby="lesson-title" data-testid="lesson-panel">
      <p className="muted small">{context}</p>
      <h2 id="lesson-title" data-testid="lesson-title">
        {lessonTitle}
      </h2>
      <h3>
        <span data-testid="lesson-step">
          {step + 1} / {steps}
        </span>
        : {stepTitle}
      </h3>
      {children}
      <div className="lesson-nav">
        <button type="button" onClick={() => onStep(step - 1)} disabled={step === 0} data-testid="lesson-prev">
          ← Previous
        </button>
        <button type="button" onClick={() => onStep(step + 1)} disabled={step === steps - 1} data-testid="lesson-next">
          Next →
        </button>
        <span className="muted small"> or the ← → keys</span>
      </div>
      <p className="visually-hidden" aria-live="polite">
        {`Step ${step + 1} of ${steps}: ${stepTitle}. ${announcement(text, live)}`}
      </p>
    </section>
  );
}
