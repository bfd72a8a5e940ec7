/**
 * The TF.js backend: the one in use, why, and a menu to choose another. Automatic choice skips
 * software GPU adapters in favour of WASM; a failing backend falls back with a note.
 */
import { BACKEND_CHOICES, type BackendChoice } from '../state/url-fields';
import { backendLabel } from '../engine/backend-choice';
import type { BackendReport } from '../worker/protocol';

interface Props {
  choice: BackendChoice;
  report: BackendReport | null;
  error: string | null;
  busy: boolean;
  onChoice(choice: BackendChoice): void;
}

export function BackendPanel({ choice, report, error, busy, onChoice }: Props) {
  return (
    <section className="backend" aria-label="Backend">
      <label htmlFor="backend-select">Backend</label>{' '}
      <select id="backend-select" data-testid="backend-select" value={choice} onChange={(e) => onChoice(e.target.value as BackendChoice)}>
        {BACKEND_CHOICES.map((c) => (
          <option key={c} value={c}>
            {c === 'auto' ? 'automatic' : backendLabel(c)}
          </option>
        ))}
      </select>{' '}
      <span>
        running on <strong data-testid="backend">{busy ? 'switching…' : (report?.active ?? '…')}</strong>
      </span>
      {!busy && report?.threads != null && (
        <span title="CPU threads the backend computes on (TF.js's own count)">
          {' '}
          on <strong data-testid="threads">{report.threads}</strong> {report.threads === 1 ? 'thread' : 'threads'}
        </span>
      )}
      {!busy && report?.threadsNote && (
        <p className="threads-note" role="note" data-testid="threads-note">
          {report.threadsNote}
        </p>
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {report && report.notes.length > 0 && (
        <ul className="backend-notes" data-testid="backend-notes">
          {report.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
      {report && report.probes.length > 0 && (
        <details>
          <summary>What this browser offers</summary>
          <ul>
            {report.probes.map((p) => (
              <li key={p.name}>
                {backendLabel(p.name)}: {p.available ? (p.software ? 'software renderer' : 'available') : 'unavailable'}
                {p.detail && <> — {p.detail}</>}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
