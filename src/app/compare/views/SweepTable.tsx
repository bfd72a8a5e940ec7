/** The sweep as a table: the plot's text alternative, with every number and where it comes from. */
import type { SweepResult } from '../protocol';
import { type Metric, paretoFront, percentOfBase, provenance, type PlaygroundLink } from '../rows';
import { fmtGflops } from './marks';
import { MethodHeader, PlanCell, ScoreCells } from './row-cells';

interface Props {
  result: SweepResult;
  metric: Metric;
  /** Where plan links lead: the same model and backend in the playground. */
  link: PlaygroundLink;
  caption: string;
  testId: string;
}

export function SweepTable({ result, metric, link, caption, testId }: Props) {
  const front = new Set(paretoFront(result.rows, metric).map((r) => r.plan));
  const source = provenance(result.data);
  return (
    <div className="table-scroll">
      <table data-testid={testId}>
        <caption className="muted small">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">method</th>
            <th scope="col">setting</th>
            <th scope="col">plan (opens the playground)</th>
            <th scope="col">GFLOPs</th>
            <th scope="col">% of unreduced</th>
            <th scope="col">top-1</th>
            <th scope="col">agreement</th>
            <th scope="col">KL (nats)</th>
            <th scope="col">front</th>
            <th scope="col">source</th>
          </tr>
        </thead>
        <tbody>
          {result.rows.map((r, i) => (
            <tr key={`${r.plan}-${i}`} data-plan={r.plan}>
              <MethodHeader method={r.method} />
              <td>{r.param === null ? '—' : `${r.param} = ${r.value}`}</td>
              <PlanCell plan={r.plan} link={link} />
              <td>{fmtGflops(r.gflops)}</td>
              <td>{percentOfBase(r, result).toFixed(1)}%</td>
              <ScoreCells row={r} />
              <td>{front.has(r.plan) ? '★ yes' : ''}</td>
              <td className="muted">
                {source}
                {r.cached ? ' (cached)' : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
