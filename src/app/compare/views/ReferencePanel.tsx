/**
 * Published figures, for reference only: DeiT on ImageNet-1k, mostly trained with the method, as
 * documented in docs/METHODS.md. Kept apart from the live plot on purpose — different model, data and regime.
 */
import { REFERENCE_FIGURES, REFERENCE_GAPS } from '../reference';
import { MethodHeader } from './row-cells';

export function ReferencePanel() {
  return (
    <section className="panel reference" aria-labelledby="reference-title">
      <h2 id="reference-title">Reference only: published DeiT figures (ImageNet-1k, 224 px)</h2>
      <p className="warning-inline">
        Not measured here and not comparable to the live plot: these are DeiT-S/DeiT-T on ImageNet, mostly <em>trained or fine-tuned with</em> the method, as
        documented in the repository's docs/METHODS.md (one section per method). Compare shapes — how much accuracy a method gives up for a share of the cost — not
        values.
      </p>
      <div className="table-scroll">
        <table data-testid="reference-table">
          <thead>
            <tr>
              <th scope="col">method</th>
              <th scope="col">model</th>
              <th scope="col">setting</th>
              <th scope="col">top-1 (published)</th>
              <th scope="col">GFLOPs</th>
              <th scope="col">% of its baseline</th>
              <th scope="col">regime</th>
              <th scope="col">source (tag, docs/METHODS.md section)</th>
            </tr>
          </thead>
          <tbody>
            {REFERENCE_FIGURES.map((f, i) => (
              <tr key={i}>
                <MethodHeader method={f.method} />
                <td>{f.model}</td>
                <td>{f.setting}</td>
                <td>{f.top1.toFixed(f.top1 % 1 ? (Math.round(f.top1 * 100) % 10 ? 2 : 1) : 1)}%</td>
                <td>{f.gflops}</td>
                <td>{((100 * f.gflops) / f.baseGflops).toFixed(0)}%</td>
                <td>{f.regime}</td>
                <td className="muted">
                  [{f.tag}] docs/METHODS.md#{f.section}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ul className="muted small">
        {Object.entries(REFERENCE_GAPS).map(([m, text]) => (
          <li key={m}>{text}</li>
        ))}
        <li>Baselines differ by source: DeiT-T 72.2% (MCTF README) against 71.8% (timm evaluation in ToMe's README); DeiT-S 79.8% in both.</li>
      </ul>
    </section>
  );
}
