/**
 * What to sweep and on what: methods, how many images of the bundled set, the metric on the y
 * axis; run and cancel, with a progress bar and an estimate of the time left, and the worker's
 * tensor count (flat from run to run when nothing leaks, cancelled runs included).
 */
import { METHOD_IDS, METHOD_SPECS } from '../../../reduce/plan';
import type { MethodId } from '../../../reduce/types';
import type { WorkerStatus } from '../protocol';
import { gpuMemoryText } from '../../gpu-memory-text';
import { METRIC_LABEL, type Metric } from '../rows';
import type { Running, RunMessage } from '../use-compare';
import { IMAGE_CHOICES } from '../url';
import { MarkIcon, shapeName } from './marks';

interface Props {
  methods: MethodId[];
  images: number;
  metric: Metric;
  labelled: boolean;
  running: Running | null;
  message: RunMessage | null;
  status: WorkerStatus | null;
  disabled: boolean;
  onMethods(m: MethodId[]): void;
  onImages(n: number): void;
  onMetric(m: Metric): void;
  onRun(): void;
  onCancel(): void;
}

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

export function progressText(r: Running): string {
  const head = `${r.phase === 'sweep' || r.phase === 'budget' ? 'Evaluating' : `Measuring (${r.phase})`}${r.plans ? ` ${r.plans} plans` : ''} on ${r.done.toLocaleString('en')} of ${r.total.toLocaleString('en')} images`;
  if (r.done === 0) return `${head} · starting…`;
  const left = (r.elapsedMs / r.done) * (r.total - r.done);
  return `${head} · ${seconds(r.elapsedMs)} so far · about ${seconds(left)} left`;
}

export function RunControls({ methods, images, metric, labelled, running, message, status, disabled, onMethods, onImages, onMetric, onRun, onCancel }: Props) {
  const toggle = (m: MethodId, on: boolean) => onMethods(METHOD_IDS.filter((x) => (x === m ? on : methods.includes(x))));
  return (
    <div className="run-controls">
      <fieldset className="method-picks">
        <legend>Methods (each sweeps its main parameter)</legend>
        {METHOD_IDS.map((m) => (
          <label key={m} title={METHOD_SPECS[m].summary}>
            <input type="checkbox" checked={methods.includes(m)} onChange={(e) => toggle(m, e.target.checked)} data-testid={`pick-${m}`} disabled={!!running} />
            <MarkIcon method={m} /> {METHOD_SPECS[m].label} <span className="muted small">({shapeName(m)})</span>
          </label>
        ))}
      </fieldset>
      <div className="run-row">
        <label>
          Images of the bundled set{' '}
          <select value={images} onChange={(e) => onImages(Number(e.target.value))} data-testid="images-select" disabled={!!running}>
            {[...new Set([...IMAGE_CHOICES, images])]
              .sort((a, b) => a - b)
              .map((n) => (
                <option key={n} value={n}>
                  {n === 1000 ? 'all 1,000' : `first ${n}`}
                </option>
              ))}
          </select>
        </label>
        <label>
          Y axis{' '}
          <select value={metric} onChange={(e) => onMetric(e.target.value as Metric)} data-testid="metric-select">
            {(['accuracy', 'agreement', 'kl'] as Metric[]).map((m) => (
              <option key={m} value={m} disabled={m === 'accuracy' && !labelled}>
                {METRIC_LABEL[m]}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={onRun} disabled={disabled || !!running || methods.length === 0} data-testid="run-sweep">
          Run sweep on the bundled set
        </button>
        <button type="button" onClick={onCancel} disabled={!running} data-testid="cancel-run">
          Cancel
        </button>
      </div>
      <div className="progress-line" aria-live="polite">
        {running ? (
          <>
            <progress max={Math.max(1, running.total)} value={running.done} aria-label="Evaluation progress" data-testid="progress" />{' '}
            <span data-testid="progress-text">{progressText(running)}</span>
          </>
        ) : (
          <span className="muted" data-testid="progress-text">
            Idle.
          </span>
        )}
      </div>
      {message && (
        <p className={message.tone === 'error' ? 'field-error' : 'muted'} role={message.tone === 'error' ? 'alert' : undefined} data-testid="run-message">
          {message.text}
        </p>
      )}
      <p className="muted small">
        Worker: <span data-testid="worker-tensors">{status ? status.tensors : '…'}</span> tensors in memory
        {status ? ` (${(status.bytes / 1024).toFixed(0)} KiB)` : ''} — the model's weights; the count returns to this after every run, cancelled or not.
        {status && (
          <>
            {' '}
            <span data-testid="worker-gpu-memory">{gpuMemoryText(status.backend, status.gpuMemory)}</span>
          </>
        )}
      </p>
    </div>
  );
}
