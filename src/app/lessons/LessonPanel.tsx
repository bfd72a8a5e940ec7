/**
 * The lesson in progress: its title, "k / n", the step's text with every number live (each in its
 * own element, data-testid="lesson-live"), a typeset formula, something to try, and the predict
 * grid where the step asks for a guess. ←/→ move between steps from anywhere but a text field; a
 * live region announces each step with its numbers.
 */
import { METHOD_SPECS, type Plan } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';
import { setParam } from '../state/plan-edit';
import { Formula, LessonFrame, StepText } from './step-parts';
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
  if (t.kind === 'link') {
    return (
      <p className="lesson-try">
        Try it:{' '}
        <a href={t.href} data-testid="lesson-link">
          {t.label}
        </a>
      </p>
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

/** In an iframe of a page without COOP/COEP the browser withholds SharedArrayBuffer: wasm gets one thread. */
function embeddedWithoutIsolation(): boolean {
  return window.self !== window.top && !window.crossOriginIsolated;
}

export function LessonPanel(props: Props) {
  const { lesson, step, shape, modelName, live, plan, planNote, predictSlot, onStep, onExit } = props;
  const current = lesson.steps[step];
  const context = (
    <>
      Lesson · on {modelName} ({shape.depth} blocks) ·{' '}
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
      {embeddedWithoutIsolation() && (
        <p className="muted small" data-testid="embed-note">
          Embedded in a page that is not cross-origin isolated: the model runs on one thread here (slower; the numbers are the same).
        </p>
      )}
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
    </LessonFrame>
  );
}
