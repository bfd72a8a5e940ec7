/**
 * The headline numbers, each with where it comes from: FLOPs against the unreduced model, the
 * top-5 predictions of both with top-1 agreement and KL divergence, and measured latency.
 */
import type { FlopReport } from '../../measure/flops';
import type { Fidelity, Ranked } from '../fidelity';
import type { Timing } from '../worker/protocol';
import { backendLabel } from '../engine/backend-choice';
import type { BackendName } from '../../model/backend';

interface Props {
  flops: FlopReport;
  baselineFlops: FlopReport;
  fidelity: Fidelity;
  untrained: boolean;
  trueLabel?: string;
  timing: Timing | null;
  firstRunMs: number;
  backend: BackendName;
}

export const formatGflops = (f: number) => (f / 1e9).toPrecision(4);

function TopList({ items, testid }: { items: Ranked[]; testid?: string }) {
  return (
    <ol className="top5">
      {items.map((r, i) => (
        <li key={r.index}>
          <span className="top-row">
            <span className="top-label" data-testid={i === 0 ? testid : undefined}>
              {r.label}
            </span>
            <span className="prob">{(r.prob * 100).toFixed(1)}%</span>
          </span>
          <span className="bar" style={{ width: `${Math.max(1, r.prob * 100)}%` }} aria-hidden="true" />
        </li>
      ))}
    </ol>
  );
}

export function NumbersPanel({ flops, baselineFlops, fidelity, untrained, trueLabel, timing, firstRunMs, backend }: Props) {
  // Same model FLOPs means the same token count at every block: nothing was reduced.
  const unreduced = flops.model === baselineFlops.model;
  const share = flops.total / baselineFlops.total;
  return (
    <section className="panel numbers" aria-labelledby="numbers-title">
      <h2 id="numbers-title">Numbers, live on this image</h2>
      <div className="cards">
        <div className="card">
          <h3>Compute</h3>
          <p className="big">
            <span data-testid="gflops-total">{formatGflops(flops.total)}</span> GFLOPs
          </p>
          <p>
            {(share * 100).toFixed(1)}% of the unreduced model's {formatGflops(baselineFlops.total)} GFLOPs
            {flops.overhead > 0 && <> (method overhead {formatGflops(flops.overhead)} included)</>}
          </p>
          <p className="muted">Counted (fvcore convention) from the token counts this run produced on this image; per block below.</p>
        </div>
        <div className="card">
          <h3>Prediction</h3>
          {untrained && <p className="warning-inline">Untrained weights: these predictions mean nothing yet.</p>}
          <div className="top-pair">
            <div>
              <h4>This plan</h4>
              <TopList items={fidelity.top} testid="prediction-top1" />
            </div>
            <div>
              <h4>Unreduced</h4>
              <TopList items={fidelity.baselineTop} testid="prediction-top1-unreduced" />
            </div>
          </div>
          <p>
            Top-1 {fidelity.agree ? <strong>agrees</strong> : <strong className="disagree">differs</strong>} with the unreduced model · KL(unreduced ‖ plan) ={' '}
            <span data-testid="kl">{fidelity.kl.toExponential(2)}</span> nats
            {trueLabel && <> · true label: {trueLabel}</>}
          </p>
          <p className="muted">Softmax of both runs' logits on this image; no labels needed.</p>
        </div>
        <div className="card">
          <h3>Latency</h3>
          {timing && timing.backend === backend ? (
            <>
              <p className="big">
                <span data-testid="latency-ms">{timing.medianMs.toFixed(1)}</span> ms
              </p>
              {unreduced ? (
                <p data-testid="same-as-unreduced">
                  median of {timing.runs} runs on {backendLabel(timing.backend)}. This plan removes no token on this image: it is the unreduced model, so there is no
                  speed-up to show (two timings of the same model differ only by noise).
                </p>
              ) : (
                <p>
                  median of {timing.runs} runs on {backendLabel(timing.backend)}; unreduced {timing.baselineMedianMs.toFixed(1)} ms ({timing.baselineRuns} runs) →{' '}
                  {(timing.baselineMedianMs / timing.medianMs).toFixed(2)}× speed-up
                </p>
              )}
            </>
          ) : (
            <p className="big muted">measuring…</p>
          )}
          <p className="muted">
            First run of this request: {firstRunMs.toFixed(0)} ms (includes shader compilation where token counts are new on GPU backends, and reading the trace
            back). The medians exclude it: one warm-up each, then up to 5 runs without trace, clock read after the result is awaited.
          </p>
        </div>
      </div>
    </section>
  );
}
