/**
 * Per block: the method, the tokens in and out against the unreduced model, and the FLOPs by
 * operation with the method's own overhead apart. The text alternative of the token view and the
 * chart, and the place the test hooks read token counts from.
 */
import type { FlopReport } from '../../measure/flops';
import type { Trace } from '../../model/run';

interface Props {
  trace: Trace;
  flops: FlopReport;
  baselineCounts: number[];
  baselineFlops: FlopReport;
  selectedLayer: number;
  /** A lesson step points at the selected block's row. */
  highlightSelected?: boolean;
}

export const mflops = (f: number) => (f / 1e6).toFixed(3);

export function LayerTable({ trace, flops, baselineCounts, baselineFlops, selectedLayer, highlightSelected = false }: Props) {
  const last = trace.layers.length - 1;
  return (
    <section className="panel table-panel" aria-labelledby="layer-table-title">
      <h2 id="layer-table-title">Per block: tokens and FLOPs</h2>
      <p className="muted">
        Live on this image. MFLOPs in the fvcore convention (one multiply-add = 1; LayerNorm 5 per element; softmax and GELU not counted), from the token counts this
        run produced. “Overhead” is the method's own work (e.g. ToMe's similarity matrix), kept apart from the model.
      </p>
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Per-block table (scrolls sideways)">
        <table>
          <thead>
            <tr>
              <th scope="col">Block</th>
              <th scope="col">Method</th>
              <th scope="col">Tokens in</th>
              <th scope="col">Tokens out</th>
              <th scope="col">Unreduced in</th>
              <th scope="col">QKV</th>
              <th scope="col">Q·Kᵀ</th>
              <th scope="col">Attn·V</th>
              <th scope="col">Proj</th>
              <th scope="col">MLP</th>
              <th scope="col">LayerNorm</th>
              <th scope="col">Model</th>
              <th scope="col">Overhead</th>
              <th scope="col">Unreduced</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">embed</th>
              <td />
              <td colSpan={3} className="muted">
                patches → tokens
              </td>
              <td colSpan={6} />
              <td>{mflops(flops.embed)}</td>
              <td>0.000</td>
              <td>{mflops(baselineFlops.embed)}</td>
            </tr>
            {trace.layers.map((l, i) => {
              const b = flops.blocks[i];
              return (
                <tr
                  key={i}
                  className={i === selectedLayer ? (highlightSelected ? 'selected lesson-highlighted' : 'selected') : undefined}
                  data-testid={`flops-row-${i}`}
                  {...(i === selectedLayer && highlightSelected ? { 'data-highlighted': '1' } : {})}
                >
                  <th scope="row">{i}</th>
                  <td>{l.method ?? '—'}</td>
                  <td data-testid={`token-count-layer-${i}`}>{l.nIn}</td>
                  <td>{l.nOut}</td>
                  <td>{baselineCounts[i]}</td>
                  <td>{mflops(b.qkv)}</td>
                  <td>{mflops(b.attnScores)}</td>
                  <td>{mflops(b.attnValues)}</td>
                  <td>{mflops(b.proj)}</td>
                  <td>{mflops(b.mlp)}</td>
                  <td>{mflops(b.layerNorm)}</td>
                  <td data-testid={`block-mflops-${i}`}>{mflops(b.model)}</td>
                  <td data-testid={`block-overhead-${i}`}>{mflops(b.overhead)}</td>
                  <td>{mflops(baselineFlops.blocks[i].model)}</td>
                </tr>
              );
            })}
            <tr>
              <th scope="row">head</th>
              <td />
              <td data-testid="token-count-out">{trace.layers[last].nOut}</td>
              <td />
              <td>{baselineCounts[last + 1]}</td>
              <td colSpan={6} />
              <td>{mflops(flops.head)}</td>
              <td>0.000</td>
              <td>{mflops(baselineFlops.head)}</td>
            </tr>
            <tr className="total">
              <th scope="row">total</th>
              <td colSpan={10} />
              <td>{mflops(flops.model)}</td>
              <td>{mflops(flops.overhead)}</td>
              <td>{mflops(baselineFlops.model)}</td>
            </tr>
          </tbody>
        </table>
      </div>
    </section>
  );
}
