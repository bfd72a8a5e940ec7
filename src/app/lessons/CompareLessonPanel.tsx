/**
 * A lesson on the compare page: the step's text with its numbers taken from the page's own sweep
 * (pareto.ts), ←/→ between steps, and the same test hooks as the playground's lesson panel. The
 * plot outlines the step's points.
 */
import type { CompareLesson } from './pareto';
import { Formula, LessonFrame, StepText } from './step-parts';

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
  const context = (
    <>
      Lesson · numbers from the sweep below ·{' '}
      <a href="index.html?lesson=index" className="text-button">
        all lessons
      </a>{' '}
      ·{' '}
      <button type="button" className="text-button" onClick={onExit}>
        leave the lesson
      </button>
    </>
  );
  return (
    <LessonFrame
      lessonTitle={lesson.title}
      stepTitle={current.title}
      step={step}
      steps={lesson.steps.length}
      text={current.text}
      live={live}
      context={context}
      onStep={onStep}
    >
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
    </LessonFrame>
  );
}
