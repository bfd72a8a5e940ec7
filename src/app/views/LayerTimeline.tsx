/**
 * The layer timeline: one cell per block showing which method reduces tokens there (or none) and
 * the tokens entering it; each cell's menu moves the block to another method. Methods hold
 * disjoint blocks, as the plan grammar requires.
 */
import { METHOD_IDS, METHOD_SPECS, type Plan } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';
import { METHOD_COLOUR } from '../palette';
import { assignLayer, layerOwners } from '../state/plan-edit';

interface Props {
  plan: Plan;
  /** Tokens entering each block in the last run, if any. */
  counts: number[] | null;
  selectedLayer: number;
  onPlan(next: Plan): string | null;
}

export function LayerTimeline({ plan, counts, selectedLayer, onPlan }: Props) {
  const owners = layerOwners(plan);
  return (
    <section className="panel timeline" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Layer timeline</h2>
      <p className="muted">Which block reduces tokens, with which method. Change a block's method in its menu.</p>
      <ol className="timeline-cells">
        {owners.map((m, l) => (
          <li key={l} className={l === selectedLayer ? 'selected' : undefined}>
            <span className="timeline-bar" style={{ background: m ? METHOD_COLOUR[m] : 'transparent' }} aria-hidden="true" />
            <label htmlFor={`timeline-${l}`}>block {l}</label>
            <select
              id={`timeline-${l}`}
              data-testid={`timeline-${l}`}
              value={m ?? 'none'}
              onChange={(e) => onPlan(assignLayer(plan, l, e.target.value === 'none' ? null : (e.target.value as MethodId)))}
            >
              <option value="none">none</option>
              {METHOD_IDS.map((id) => (
                <option key={id} value={id}>
                  {METHOD_SPECS[id].label}
                </option>
              ))}
            </select>
            {counts && <span className="timeline-count">{counts[l]} in</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}
