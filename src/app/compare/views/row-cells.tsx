/** Table cells the compare tables share: the method's row header, the plan's playground link and the scores. */
import type { MethodId } from '../../../reduce/types';
import type { SweepRow } from '../protocol';
import { playgroundHref, type PlaygroundLink } from '../rows';
import { fmtKl, fmtPercent, MarkIcon, methodLabel } from './marks';

export function MethodHeader({ method }: { method: MethodId | 'none' }) {
  return (
    <th scope="row">
      <MarkIcon method={method} /> {methodLabel(method)}
    </th>
  );
}

/** The plan as code, linked to the playground on the same backend. */
export function PlanCell({ plan, link }: { plan: string; link: PlaygroundLink }) {
  return (
    <td>
      <a href={playgroundHref(plan, link)}>
        <code>{plan}</code>
      </a>
    </td>
  );
}

/** Top-1, agreement and KL. */
export function ScoreCells({ row }: { row: SweepRow }) {
  return (
    <>
      <td>{row.accuracy === null ? 'no labels' : fmtPercent(row.accuracy, 2)}</td>
      <td>{fmtPercent(row.agreement, 2)}</td>
      <td>{fmtKl(row.kl)}</td>
    </>
  );
}
