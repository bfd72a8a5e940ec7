/**
 * The lesson in progress: its title, "k / n", the step's text with every number live (each in its
 * own element, data-testid="lesson-live"), a typeset formula, something to try, and the predict
 * grid where the step asks for a guess. ←/→ move between steps from anywhere but a text field; a
 * live region announces each step with its numbers.
 */
import katex from 'katex';
import 'katex/dist/katex.min.css';
import { useEffect, useMemo } from 'react';
import { METHOD_SPECS, type Plan } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';
import { setParam } from '../state/plan-edit';
import { PLAY_EVENT } from '../views/TokenView';
import { splitSlots } from './live';
import type { Lesson, LessonStep, ModelShape } from './types';

interface Props {
  lesson: Lesson;
  /** 0-based. */
  step: number;
  shape: ModelShape;
  modelName: string;
  /** Live values for the state on screen; null until a run has finished. */
  live: Record<string, string> | null;
  plan: Plan | null;
  /** Why the step's plan had to change for this model, if it did. */
  planNote: string | null;
  predictSlot: React.ReactNode;
  onStep(step: number): void;
  onPlan(next: Plan): string | null;
  onSample(id: string): void;
  onLayer(layer: number): void;
  onExit(): void;
}

function Formula({ tex }: { tex: string }) {
  // Our own constant TeX (lessons.ts), never user input; KaTeX escapes what it renders.
  const html = useMemo(() => katex.renderToString(tex, { displayMode: true, throwOnError: false, output: 'htmlAndMathml' }), [tex]);
  return <div className="lesson-formula" dangerouslySetInnerHTML={{ __html: html }} />;
}

function StepText({ text, live }: { text: string; live: Record<string, string> | null }) {
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

function TryItControl({
  step,
  shape,
  plan,
  layer,
  onPlan,
  onSample,
  onLayer,
}: { step: LessonStep; shape: ModelShape; plan: Plan | null; layer: number } & Pick<Props, 'onPlan' | 'onSample' | 'onLayer'>) {
  const t = step.tryIt;
  if (!t) return null;
  if (t.kind === 'samples') {
    return (
      <div className="lesson-try" role="group" aria-label={t.label}>
        <p>Try it: {t.label}</p>
        {(shape.channels === 3 ? t.rgb : t.grey).map((id) => (
          <button key={id} type="button" onClick={() => onSample(id)} data-testid={`lesson-sample-${id}`}>
            {id}
          </button>
        ))}
      </div>
    );
  }
  if (t.kind === 'blocks') {
    return (
      <div className="lesson-try" role="group" aria-label={t.label}>
        <p>Try it: {t.label}</p>
        <button type="button" onClick={() => onLayer(Math.max(0, layer - 1))} disabled={layer === 0}>
          Previous block
        </button>{' '}
        <button type="button" onClick={() => onLayer(Math.min(shape.depth - 1, layer + 1))} disabled={layer >= shape.depth - 1}>
          Next block
        </button>
      </div>
    );
  }
  const method = t.method as MethodId;
  const spec = METHOD_SPECS[method]?.params.find((p) => p.name === t.param);
  const segment = plan?.segments.find((s) => s.method === method);
  if (!spec || spec.kind === 'bool' || !segment || !plan) return null;
  const value = Number(segment.params[t.param]);
  const max = spec.max > 100 ? Math.min(spec.max, shape.tokens) : spec.max;
  const increment = spec.kind === 'int' ? 1 : 0.05;
  const min = spec.minOpen ? spec.min + increment : spec.min;
  return (
    <div className="lesson-try">
      <label>
        Try it: {t.label} <code>{t.param}</code> = <output>{value}</output>
        <input
          type="range"
          min={min}
          max={max}
          step={increment}
          value={value}
          onChange={(e) => onPlan(setParam(plan, method, t.param, Number(e.target.value)))}
          data-testid="lesson-try-slider"
        />
      </label>
    </div>
  );
}

export function LessonPanel(props: Props) {
  const { lesson, step, shape, modelName, live, plan, planNote, predictSlot, onStep, onExit } = props;
  const current = lesson.steps[step];
  const n = lesson.steps.length;

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

  const announce = live
    ? splitSlots(current.text)
        .map((p) => ('text' in p ? p.text : (live[p.slot] ?? '…')))
        .join('')
    : '';
  return (
    <section className="panel lesson-panel" aria-labelledby="lesson-title" data-testid="lesson-panel">
      <p className="muted small">
        Lesson · on {modelName} ({shape.depth} blocks) ·{' '}
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
      {planNote && (
        <p className="notice warning" role="status">
          {planNote}
        </p>
      )}
      <TryItControl
        step={current}
        shape={shape}
        plan={plan}
        layer={Number(live?.layer ?? 0)}
        onPlan={props.onPlan}
        onSample={props.onSample}
        onLayer={props.onLayer}
      />
      {predictSlot}
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
        {`Step ${step + 1} of ${n}: ${current.title}. ${announce}`}
      </p>
    </section>
  );
}
