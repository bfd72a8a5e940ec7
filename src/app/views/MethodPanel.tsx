/**
 * Every method with an on/off switch and its parameters, all generated from METHOD_SPECS (names,
 * ranges, defaults, help). A change is written back as plan text; values the parser would refuse
 * are shown with its message beside the control and not applied.
 */
import { useEffect, useState } from 'react';
import { METHOD_IDS, METHOD_SPECS, type ParamSpec, type ParamValue, type Plan } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';
import { METHOD_COLOUR } from '../palette';
import { setParam, toggleMethod } from '../state/plan-edit';

interface Props {
  plan: Plan;
  /** Tokens entering block 0: bounds the sliders of open-ended counts. */
  tokens: number;
  /** Applies a plan; returns the parser's error message if it refuses it. */
  onPlan(next: Plan): string | null;
}

function sliderRange(p: Extract<ParamSpec, { kind: 'int' | 'float' }>, tokens: number) {
  const max = p.max > 100 ? Math.min(p.max, tokens) : p.max;
  const span = max - p.min;
  const step = p.kind === 'int' ? 1 : span <= 2 ? 0.01 : span <= 20 ? 0.1 : 1;
  return { min: p.minOpen ? p.min + step : p.min, max, step };
}

function NumberControl({
  method,
  spec,
  value,
  tokens,
  onValue,
}: {
  method: MethodId;
  spec: Extract<ParamSpec, { kind: 'int' | 'float' }>;
  value: number;
  tokens: number;
  onValue(v: number): string | null;
}) {
  const [draft, setDraft] = useState(String(value));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setDraft(String(value)), [value]);
  const id = `param-${method}-${spec.name}`;
  const { min, max, step } = sliderRange(spec, tokens);
  const apply = (text: string) => {
    setDraft(text);
    const v = text.trim() === '' ? NaN : Number(text);
    setError(Number.isFinite(v) ? onValue(v) : `${spec.name} needs a number`);
  };
  const range = `${spec.minOpen ? '(' : '['}${spec.min}, ${spec.max}]`;
  if (spec.names) {
    return (
      <div className="param">
        <label htmlFor={id}>
          <code>{spec.name}</code> <span className="muted">{spec.doc}</span>
        </label>
        <div className="param-inputs">
          <select id={id} data-testid={id} value={value} aria-describedby={`${id}-help`} onChange={(e) => apply(e.target.value)}>
            {spec.names.map((name, i) => (
              <option key={name} value={i}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div id={`${id}-help`} className="param-help">
          default {spec.names[spec.default]}
          {error && (
            <span className="field-error" role="alert">
              {' '}
              {error}
            </span>
          )}
        </div>
      </div>
    );
  }
  return (
    <div className="param">
      <label htmlFor={id}>
        <code>{spec.name}</code> <span className="muted">{spec.doc}</span>
      </label>
      <div className="param-inputs">
        <input
          type="range"
          min={min}
          max={max}
          step={step}
          value={Math.min(max, Math.max(min, value))}
          aria-label={`${spec.name} slider`}
          onChange={(e) => apply(e.target.value)}
        />
        <input
          id={id}
          data-testid={id}
          type="number"
          inputMode="decimal"
          step={spec.kind === 'int' ? 1 : 'any'}
          min={spec.min}
          max={spec.max}
          value={draft}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-help`}
          onChange={(e) => apply(e.target.value)}
        />
      </div>
      <div id={`${id}-help`} className="param-help">
        range {range}, default {spec.default}
        {error && (
          <span className="field-error" role="alert">
            {' '}
            {error}
          </span>
        )}
      </div>
    </div>
  );
}

export function MethodPanel({ plan, tokens, onPlan }: Props) {
  const [errors, setErrors] = useState<Partial<Record<MethodId, string | null>>>({});
  const apply = (method: MethodId, next: Plan) => {
    const error = onPlan(next);
    setErrors((e) => ({ ...e, [method]: error }));
    return error;
  };
  return (
    <section className="panel methods" aria-labelledby="methods-title">
      <h2 id="methods-title">Methods</h2>
      <p className="muted">Switch a method on to see its parameters (ranges and defaults come from the engine's method specs). Every change re-runs the model.</p>
      {METHOD_IDS.map((id) => {
        const spec = METHOD_SPECS[id];
        const segments = plan.segments.filter((s) => s.method === id);
        const on = segments.length > 0;
        const params = segments[0]?.params ?? Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
        return (
          <fieldset key={id} className={`method ${on ? 'on' : 'off'}`} style={{ borderLeftColor: METHOD_COLOUR[id] }}>
            <legend>
              <label>
                <input type="checkbox" checked={on} data-testid={`method-toggle-${id}`} onChange={(e) => apply(id, toggleMethod(plan, id, e.target.checked))} />{' '}
                <strong>{spec.label}</strong>
              </label>
            </legend>
            <p className="muted summary">{spec.summary}</p>
            {on && (
              <p className="muted">
                blocks {segments.flatMap((s) => s.layers).join(', ')}
                {segments.length > 1 && ` (${segments.length} segments; the controls edit the first, the plan text edits all)`}
              </p>
            )}
            {on &&
              spec.params.map((p) =>
                p.kind === 'bool' ? (
                  <div className="param" key={p.name}>
                    <label>
                      <input
                        type="checkbox"
                        data-testid={`param-${id}-${p.name}`}
                        checked={params[p.name] as boolean}
                        onChange={(e) => apply(id, setParam(plan, id, p.name, e.target.checked))}
                      />{' '}
                      <code>{p.name}</code>{' '}
                      <span className="muted">
                        {p.doc} (default {p.default ? 'on' : 'off'})
                      </span>
                    </label>
                  </div>
                ) : (
                  <NumberControl
                    key={p.name}
                    method={id}
                    spec={p}
                    value={params[p.name] as number}
                    tokens={tokens}
                    onValue={(v: ParamValue) => apply(id, setParam(plan, id, p.name, v))}
                  />
                ),
              )}
            {errors[id] && (
              <p className="field-error" role="alert">
                {errors[id]}
              </p>
            )}
          </fieldset>
        );
      })}
    </section>
  );
}
