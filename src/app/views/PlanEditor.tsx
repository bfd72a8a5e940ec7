/**
 * The plan text: the single state every control edits. Typing a valid plan applies it at once;
 * an invalid one shows the parser's message beside the field and the last valid plan keeps running.
 */
import { useEffect, useState } from 'react';
import { formatPlan, parsePlan, planHelp } from '../../reduce/plan';

interface Props {
  plan: string;
  depth: number;
  onPlanText(text: string): void;
  /** An error from running the plan (e.g. a method the model cannot take). */
  runError: string | null;
}

export function PlanEditor({ plan, depth, onPlanText, runError }: Props) {
  const [draft, setDraft] = useState(plan);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    // Follow outside changes unless the draft already says the same plan in other words.
    setDraft((d) => {
      const parsed = parsePlan(d, depth);
      return parsed.ok && formatPlan(parsed.value) === plan ? d : plan;
    });
    setError(null);
  }, [plan, depth]);

  const onChange = (text: string) => {
    setDraft(text);
    const parsed = parsePlan(text, depth);
    if (parsed.ok) {
      setError(null);
      onPlanText(formatPlan(parsed.value));
    } else {
      setError(parsed.error.message);
    }
  };

  return (
    <section className="panel plan-editor" aria-labelledby="plan-title">
      <h2 id="plan-title">
        <label htmlFor="plan-text">Plan</label>
      </h2>
      <input
        id="plan-text"
        data-testid="plan-text"
        className="plan-input"
        spellCheck={false}
        autoComplete="off"
        value={draft}
        aria-invalid={error ? true : undefined}
        aria-describedby="plan-status"
        onChange={(e) => onChange(e.target.value)}
      />
      <p id="plan-status" className={error || runError ? 'field-error' : 'muted'} role={error || runError ? 'alert' : undefined} data-testid="plan-error">
        {error ?? runError ?? `Canonical form: ${plan} — the same text works in a link (?plan=) and on the command line (--plan).`}
      </p>
      <details>
        <summary>Plan syntax and every parameter</summary>
        <pre className="plan-help">{planHelp()}</pre>
      </details>
    </section>
  );
}
