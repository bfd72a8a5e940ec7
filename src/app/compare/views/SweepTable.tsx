/** The sweep as a table: the plot's text alternative, with every number and where it comes from. */
import type { SweepResult } from '../protocol';
import { type Metric, paretoFront, percentOfBase, playgroundHref, provenance } from '../rows';
import { fmtGflops, fmtKl, fmtPercent, MarkIcon, methodLabel } from './marks';

interface Props {
  result: SweepResult;
  metric: Metric;
  backend: string;
  caption: string;
  testId: string;
}

export function SweepTable({ result, metric, backend, caption, testId }: Props) {
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
              <th scope="row">
                <MarkIcon method={r.method} /> {methodLabel(r.method)}
              </th>
              <td>{r.param === null ? '—' : `${r.param} = ${r.value}`}</td>
              <td>
                <a href={playgroundHref(r.plan, { backend })}>
                  <code>{r.plan}</code>
                </a>
              </td>
              <td>{fmtGflops(r.gflops)}</td>
              <td>{percentOfBase(r, result).toFixed(1)}%</td>
              <td>{r.accuracy === null ? 'no labels' : fmtPercent(r.accuracy, 2)}</td>
              <td>{fmtPercent(r.agreement, 2)}</td>
              <td>{fmtKl(r.kl)}</td>
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
