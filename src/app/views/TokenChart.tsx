/**
 * Tokens entering each block (and leaving the last) for the plan, against the unreduced model.
 * React draws the marks; d3 gives the scales and line paths, and fills the two axes in an effect.
 */
import { axisBottom, axisLeft, line, scaleLinear, select } from 'd3';
import { useEffect, useMemo, useRef } from 'react';
import { SERIES_COLOUR } from '../palette';

interface Props {
  counts: number[];
  baseline: number[];
  selectedLayer: number;
  onSelectLayer(layer: number): void;
}

const W = 420;
const H = 200;
const M = { top: 12, right: 16, bottom: 34, left: 42 };

export function TokenChart({ counts, baseline, selectedLayer, onSelectLayer }: Props) {
  const xAxis = useRef<SVGGElement>(null);
  const yAxis = useRef<SVGGElement>(null);
  const depth = counts.length - 1;
  const { x, y, planPath, basePath } = useMemo(() => {
    const x = scaleLinear()
      .domain([0, depth])
      .range([M.left, W - M.right]);
    const y = scaleLinear()
      .domain([0, Math.max(...baseline, ...counts)])
      .nice()
      .range([H - M.bottom, M.top]);
    const path = line<number>()
      .x((_, i) => x(i))
      .y((v) => y(v));
    return { x, y, planPath: path(counts) ?? '', basePath: path(baseline) ?? '' };
  }, [counts, baseline, depth]);

  useEffect(() => {
    if (!xAxis.current || !yAxis.current) return;
    const gx = select(xAxis.current);
    const gy = select(yAxis.current);
    gx.call(
      axisBottom(x)
        .ticks(depth)
        .tickFormat((d) => (Number(d) === depth ? 'out' : String(d))),
    );
    gy.call(axisLeft(y).ticks(5));
    return () => {
      gx.selectAll('*').remove();
      gy.selectAll('*').remove();
    };
  }, [x, y, depth]);

  return (
    <figure className="panel chart">
      <figcaption>
        <h2>Tokens per block</h2>
        <span className="muted">entering each block, live on this image; the table below has the same numbers</span>
      </figcaption>
      <svg
        width={W}
        height={H}
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Tokens entering each block: plan ${counts.join(', ')}; unreduced ${baseline.join(', ')}`}
      >
        <g ref={xAxis} transform={`translate(0,${H - M.bottom})`} />
        <g ref={yAxis} transform={`translate(${M.left},0)`} />
        <text x={(M.left + W - M.right) / 2} y={H - 4} textAnchor="middle" className="axis-label">
          block
        </text>
        <line className="selected-layer" x1={x(selectedLayer)} x2={x(selectedLayer)} y1={M.top} y2={H - M.bottom} />
        <path d={basePath} fill="none" stroke={SERIES_COLOUR.baseline} strokeWidth={2} strokeDasharray="5 4" />
        <path d={planPath} fill="none" stroke={SERIES_COLOUR.plan} strokeWidth={2.5} />
        {counts.map((v, i) => (
          <circle
            key={i}
            cx={x(i)}
            cy={y(v)}
            r={i === selectedLayer ? 5 : 3.5}
            fill={SERIES_COLOUR.plan}
            onClick={() => i < depth && onSelectLayer(i)}
            className={i < depth ? 'clickable' : undefined}
          >
            <title>{`${i < depth ? `entering block ${i}` : 'leaving the last block'}: ${v} tokens (unreduced ${baseline[i]})`}</title>
          </circle>
        ))}
      </svg>
      <ul className="series-legend">
        <li>
          <span className="line-swatch" style={{ borderColor: SERIES_COLOUR.plan }} /> this plan
        </li>
        <li>
          <span className="line-swatch dashed" style={{ borderColor: SERIES_COLOUR.baseline }} /> unreduced model
        </li>
      </ul>
    </figure>
  );
}
