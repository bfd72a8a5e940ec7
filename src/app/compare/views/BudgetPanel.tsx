/**
 * Equal budget: a target in GFLOPs or % of the unreduced model; each method's parameter is solved
 * to land closest to it without exceeding it (fixed schedules from their token counts, ATS by
 * measuring its caps on the same images), and the methods are compared at that cost.
 */
import { useEffect, useState } from 'react';
import type { SweepResult } from '../protocol';
import { parseBudget, percentOfBase, provenance, type PlaygroundLink } from '../rows';
import { fmtGflops } from './marks';
import { MethodHeader, PlanCell, ScoreCells } from './row-cells';

interface Props {
  initial: string;
  result: SweepResult | null;
  busy: boolean;
  disabled: boolean;
  /** Where plan links lead: the same model and backend in the playground. */
  link: PlaygroundLink;
  onSolve(text: string): void;
  onSideBySide(plans: string[]): void;
}

export function BudgetPanel({ initial, result, busy, disabled, link, onSolve, onSideBySide }: Props) {
  const [text, setText] = useState(initial || '60%');
  useEffect(() => {
    if (initial) setText(initial); // a budget from the link, read after the first render
  }, [initial]);
  const parsed = parseBudget(text);
  const budget = result?.budget;
  const best = result ? Math.max(...result.rows.slice(1).map((r) => r.accuracy ?? r.agreement)) : null;
  return (
    <section className="panel" aria-labelledby="budget-title">
      <h2 id="budget-title">Equal budget</h2>
      <p className="muted">
        Pick a cost; every method's parameter is set to the value that comes closest to it without going over (ToMe/MCTF r, PiToMe ratio, EViT/top-k keep rate from
        their token schedules; ATS's cap measured on the same images, since its cost depends on them). Same rule as <code>tokenscope sweep --budget</code>.
      </p>
      <form
        className="run-row"
        onSubmit={(e) => {
          e.preventDefault();
          if (parsed.ok) onSolve(text);
        }}
      >
        <label htmlFor="budget-input">Budget (GFLOPs, or % of the unreduced model)</label>
        <input
          id="budget-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-invalid={!parsed.ok}
          aria-describedby="budget-error"
          data-testid="budget-input"
          size={10}
        />
        <button type="submit" disabled={!parsed.ok || busy || disabled} data-testid="solve-budget">
          Solve on the bundled set
        </button>
      </form>
      {!parsed.ok && (
        <p id="budget-error" className="field-error">
          {parsed.error.message}
        </p>
      )}
      {result && budget && (
        <>
          <p data-testid="budget-summary">
            Budget <strong>{fmtGflops(budget.gflops)} GFLOPs</strong> ({budget.text}; unreduced {fmtGflops(result.rows[0].gflops)}), {provenance(result.data)},{' '}
            {result.backend}.
          </p>
          <div className="table-scroll">
            <table data-testid="budget-table">
              <thead>
                <tr>
                  <th scope="col">method</th>
                  <th scope="col">chosen setting</th>
                  <th scope="col">plan</th>
                  <th scope="col">GFLOPs</th>
                  <th scope="col">% of budget</th>
                  <th scope="col">% of unreduced</th>
                  <th scope="col">top-1</th>
                  <th scope="col">agreement</th>
                  <th scope="col">KL (nats)</th>
                </tr>
              </thead>
              <tbody>
                {result.rows.map((r) => (
                  <tr
                    key={r.plan}
                    data-method={r.method}
                    data-plan={r.plan}
                    data-gflops={String(r.gflops)}
                    className={(r.accuracy ?? r.agreement) === best && r.method !== 'none' ? 'best' : undefined}
                  >
                    <MethodHeader method={r.method} />
                    <td>{r.param === null ? 'reference' : `${r.param} = ${r.value}`}</td>
                    <PlanCell plan={r.plan} link={link} />
                    <td>{fmtGflops(r.gflops)}</td>
                    <td>{((100 * r.gflops) / budget.gflops).toFixed(1)}%</td>
                    <td>{percentOfBase(r, result).toFixed(1)}%</td>
                    <ScoreCells row={r} />
                  </tr>
                ))}
                {budget.unmet.map((u) => (
                  <tr key={u.method} data-method={u.method} className="unmet">
                    <MethodHeader method={u.method} />
                    <td colSpan={8}>cannot meet this budget: {u.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="muted small">Bold row: the best top-1 (agreement without labels) at this cost.</p>
          <button
            type="button"
            onClick={() => onSideBySide(result.rows.slice(1, 5).map((r) => r.plan))}
            disabled={result.rows.length < 3}
            data-testid="budget-side-by-side"
          >
            Show these plans side by side (first {Math.min(4, result.rows.length - 1)})
          </button>
        </>
      )}
    </section>
  );
}
