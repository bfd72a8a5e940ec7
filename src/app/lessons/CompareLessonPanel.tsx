/**
 * A lesson on the compare page: the step's text with its numbers taken from the page's own sweep
 * (pareto.ts), ←/→ between steps, and the same test hooks as the playground's lesson panel. The
 * plot outlines the step's points.
 */
import type { CompareLesson } from './pareto';
import { announcement, Formula, StepText, useStepKeys } from './step-parts';

interface Props {
  lesson: CompareLesson;
  /** 0-based. */
  step: number;
  /** Null until a sweep is shown. */
  live: Record<string, string> | null;
  /** Slots of the step the sweep cannot fill (a method it did not run). */
  missing: string[];
  onStep(step: number): void;
  onExit(): void;
}

export function CompareLessonPanel({ lesson, step, live, missing, onStep, onExit }: Props) {
  const current = lesson.steps[step];
  const n = lesson.steps.length;
  useStepKeys(step, n, onStep);
  return (
    <section className="panel lesson-panel" aria-labelledby="lesson-title" data-testid="lesson-panel">
      <p className="muted small">
        Lesson · numbers from the sweep below ·{' '}
        <a href="index.html?lesson=index" className="text-button">
          all lessons
        </a>{' '}
        ·{' '}
        <button type="button" className="text-button" onClick={onExit}>
          leave the lesson
        </button>
      </p>
      <h2 id="lesson-title" data-testid="lesson-title">
        {lesson.title}
      </h2>
      <h3>
        <span data-testid="lesson-step">
          {step + 1} / {n}
        </span>
        : {current.title}
      </h3>
      <StepText text={current.text} live={live} />
      {current.formula && <Formula tex={current.formula} />}
      {live && missing.length > 0 && (
        <p className="notice warning" role="status" data-testid="lesson-missing">
          This step needs methods the sweep did not run: tick them above the plot and run it again.
        </p>
      )}
      {current.tryIt && (
        <p className="lesson-try">
          Try it:{' '}
          <a href={current.tryIt.href} data-testid="lesson-link">
            {current.tryIt.label}
          </a>
        </p>
      )}
      <div className="lesson-nav">
        <button type="button" onClick={() => onStep(step - 1)} disabled={step === 0} data-testid="lesson-prev">
          ← Previous
        </button>
        <button type="button" onClick={() => onStep(step + 1)} disabled={step === n - 1} data-testid="lesson-next">
          Next →
        </button>
        <span className="muted small"> or the ← → keys</span>
      </div>
      <p className="visually-hidden" aria-live="polite">
        {`Step ${step + 1} of ${n}: ${current.title}. ${announcement(current.text, live)}`}
      </p>
    </section>
  );
}
