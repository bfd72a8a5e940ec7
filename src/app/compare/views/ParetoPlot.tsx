/**
 * Accuracy (or agreement, or KL on a log axis — it spans orders of magnitude; zero, the unreduced
 * model's own, sits on the bottom edge) against GFLOPs: one series per method along its swept parameter,
 * the unreduced model as a star, the Pareto front over every point as a dashed line, and the equal
 * budget as a vertical line. React draws the marks; d3 gives scales, paths and the axes (filled in
 * an effect). Styles are attributes, so the exported SVG looks the same outside the page.
 *
 * Each point is a link to the playground with its plan (click, or Enter when focused); hovering or
 * focusing it shows the plan and its numbers, and where they come from.
 */
import { axisBottom, axisLeft, axisTop, format, line, scaleLinear, scaleLog, select } from 'd3';
import { type RefObject, useEffect, useMemo, useRef, useState } from 'react';
import type { MethodId } from '../../../reduce/types';
import type { SweepResult, SweepRow } from '../protocol';
import { higherIsBetter, METRIC_LABEL, type Metric, metricValue, paretoFront, percentOfBase, playgroundHref, provenance, type PlaygroundLink } from '../rows';
import { DECISION_COLOUR } from '../../palette';
import { fmtGflops, fmtKl, fmtPercent, markPath, methodColour, methodLabel, shapeName } from './marks';

interface Props {
  result: SweepResult;
  metric: Metric;
  budgetGflops: number | null;
  /** Where plan links lead: the same model and backend in the playground. */
  link: PlaygroundLink;
  svgRef: RefObject<SVGSVGElement | null>;
  /** Plans a lesson step points at: outlined with a ring. */
  highlighted?: string[];
}

const W = 780;
const H = 460;
const M = { top: 74, right: 168, bottom: 50, left: 66 };
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

export const metricText = (row: SweepRow, metric: Metric) => {
  const v = metricValue(row, metric);
  return v === null ? '—' : metric === 'kl' ? fmtKl(v) : fmtPercent(v);
};

export function ParetoPlot({ result, metric, budgetGflops, link, svgRef, highlighted = [] }: Props) {
  const xAxis = useRef<SVGGElement>(null);
  const topAxis = useRef<SVGGElement>(null);
  const yAxis = useRef<SVGGElement>(null);
  const [hover, setHover] = useState<SweepRow | null>(null);
  const base = result.rows[0];

  const layout = useMemo(() => {
    const rows = result.rows.filter((r) => metricValue(r, metric) !== null);
    const values = rows.map((r) => metricValue(r, metric)!);
    const maxG = Math.max(base.gflops, ...rows.map((r) => r.gflops), budgetGflops ?? 0);
    const x = scaleLinear()
      .domain([0, maxG * 1.04])
      .range([M.left, W - M.right]);
    let y;
    let yOf: (v: number) => number;
    if (metric === 'kl') {
      const positive = values.filter((v) => v > 0);
      const lo = positive.length ? Math.min(...positive) / 2 : 1e-9;
      const hi = positive.length ? Math.max(...positive) * 1.5 : 1e-8;
      const log = scaleLog()
        .domain([lo, hi])
        .range([H - M.bottom, M.top]);
      y = log;
      yOf = (v) => (v <= lo ? H - M.bottom : log(v));
    } else {
      const lo = Math.max(0, Math.min(...values) - 0.04);
      const hi = Math.min(1, Math.max(...values) + 0.02);
      const lin = scaleLinear()
        .domain([lo, hi > lo ? hi : lo + 0.01])
        .nice()
        .range([H - M.bottom, M.top]);
      y = lin;
      yOf = (v) => lin(v);
    }
    const byMethod = new Map<MethodId, SweepRow[]>();
    for (const r of rows) if (r.method !== 'none') byMethod.set(r.method, [...(byMethod.get(r.method) ?? []), r]);
    const path = line<SweepRow>()
      .x((r) => x(r.gflops))
      .y((r) => yOf(metricValue(r, metric)!));
    const series = [...byMethod.entries()].map(([method, rs]) => ({ method, rows: rs, d: path([...rs].sort((a, b) => a.gflops - b.gflops)) ?? '' }));
    const front = paretoFront(rows, metric);
    return { rows, x, y, yOf, series, front, frontPath: path(front) ?? '', frontPlans: new Set(front.map((r) => r.plan)) };
  }, [result, metric, base, budgetGflops]);
  const { x, y, yOf } = layout;

  useEffect(() => {
    if (!xAxis.current || !yAxis.current || !topAxis.current) return;
    const gx = select(xAxis.current);
    const gt = select(topAxis.current);
    const gy = select(yAxis.current);
    gx.call(axisBottom(x).ticks(6).tickFormat(format('.3~f')));
    const pctTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * base.gflops);
    gt.call(
      axisTop(x)
        .tickValues(pctTicks)
        .tickFormat((g) => `${Math.round((100 * Number(g)) / base.gflops)}%`),
    );
    if (metric === 'kl') gy.call(axisLeft(y).ticks(5, '.0e'));
    else gy.call(axisLeft(y).ticks(6).tickFormat(format('.0%')));
    return () => {
      gx.selectAll('*').remove();
      gt.selectAll('*').remove();
      gy.selectAll('*').remove();
    };
  }, [x, y, metric, base]);

  const title = `${METRIC_LABEL[metric][0].toUpperCase()}${METRIC_LABEL[metric].slice(1)} against GFLOPs per image`;
  const source = `${provenance(result.data)} · ${result.model.name}${result.model.untrained ? ' (UNTRAINED stand-in: random weights)' : ''} · ${result.backend}`;
  const methods = layout.series.map((s) => s.method);
  const describe = (r: SweepRow) =>
    `${methodLabel(r.method)} ${r.plan}: ${fmtGflops(r.gflops)} GFLOPs (${percentOfBase(r, result).toFixed(1)}% of unreduced), ${METRIC_LABEL[metric]} ${metricText(r, metric)}`;

  const point = (r: SweepRow, i: number) => {
    const v = metricValue(r, metric)!;
    const onFront = layout.frontPlans.has(r.plan);
    const marked = highlighted.includes(r.plan);
    return (
      <a
        key={`${r.plan}-${i}`}
        href={playgroundHref(r.plan, link)}
        aria-label={`${describe(r)}. Opens the plan in the playground.`}
        data-testid="pareto-point"
        data-method={r.method}
        data-plan={r.plan}
        data-gflops={String(r.gflops)}
        data-accuracy={r.accuracy === null ? '' : String(r.accuracy)}
        data-agreement={String(r.agreement)}
        data-kl={String(r.kl)}
        {...(marked ? { 'data-highlighted': '1' } : {})}
        onMouseEnter={() => setHover(r)}
        onMouseLeave={() => setHover(null)}
        onFocus={() => setHover(r)}
        onBlur={() => setHover(null)}
      >
        <path
          transform={`translate(${x(r.gflops)},${yOf(v)})`}
          d={markPath(r.method, r.method === 'none' ? 150 : hover?.plan === r.plan ? 130 : 70)}
          fill={methodColour(r.method)}
          stroke={onFront ? '#000000' : '#ffffff'}
          strokeWidth={onFront ? 1.4 : 1}
        />
        {marked && <circle cx={x(r.gflops)} cy={yOf(v)} r={13} fill="none" stroke={DECISION_COLOUR.highlight} strokeWidth={3} pointerEvents="none" />}
      </a>
    );
  };

  const card = hover && (
    <div
      className="point-card"
      data-testid="point-card"
      role="status"
      style={{ left: `${(100 * Math.min(x(hover.gflops) + 12, W - 250)) / W}%`, top: `${(100 * Math.max(M.top, yOf(metricValue(hover, metric) ?? 0) - 20)) / H}%` }}
    >
      <strong>{methodLabel(hover.method)}</strong> <code>{hover.plan}</code>
      <dl>
        <dt>GFLOPs</dt>
        <dd>
          {fmtGflops(hover.gflops)} ({percentOfBase(hover, result).toFixed(1)}% of unreduced)
        </dd>
        <dt>top-1 accuracy</dt>
        <dd>{hover.accuracy === null ? 'no labels' : fmtPercent(hover.accuracy, 2)}</dd>
        <dt>agreement</dt>
        <dd>{fmtPercent(hover.agreement, 2)}</dd>
        <dt>KL</dt>
        <dd>{fmtKl(hover.kl)} nats</dd>
      </dl>
      <p className="small">
        {provenance(result.data)}, {result.backend}
        {hover.cached ? `, cached from ${new Date(hover.computedAt).toLocaleString()}` : ''}. Click to open it in the playground.
      </p>
    </div>
  );

  const legendY = (i: number) => M.top + 18 + i * 20;
  return (
    <figure className="pareto">
      <div className="pareto-frame">
        <svg
          ref={svgRef}
          width={W}
          height={H}
          viewBox={`0 0 ${W} ${H}`}
          role="group"
          aria-label={`${title}, ${source}. Each point is a link.`}
          fontFamily={FONT}
          data-testid="pareto-svg"
        >
          <rect x={0} y={0} width={W} height={H} fill="#ffffff" />
          <text x={M.left} y={18} fontSize={14} fontWeight={600} fill="#1b1b1f">
            {title}
          </text>
          <text x={M.left} y={35} fontSize={11} fill="#5b5d66">
            {source}
          </text>
          <g ref={topAxis} transform={`translate(0,${M.top})`} />
          <text x={W - M.right} y={M.top - 24} fontSize={10} fill="#5b5d66" textAnchor="end">
            % of the unreduced model's GFLOPs
          </text>
          <g ref={xAxis} transform={`translate(0,${H - M.bottom})`} />
          <g ref={yAxis} transform={`translate(${M.left},0)`} />
          <text x={(M.left + W - M.right) / 2} y={H - 12} textAnchor="middle" fontSize={11} fill="#5b5d66">
            GFLOPs per image (fvcore convention; ATS: mean over the images)
          </text>
          <text transform={`translate(16,${(M.top + H - M.bottom) / 2}) rotate(-90)`} textAnchor="middle" fontSize={11} fill="#5b5d66">
            {metric === 'kl'
              ? 'KL to unreduced (nats, log; 0 at the bottom) — lower is better'
              : `${metric === 'accuracy' ? 'top-1 accuracy' : 'top-1 agreement'} — higher is better`}
          </text>
          {budgetGflops !== null && (
            <g data-testid="budget-line">
              <line x1={x(budgetGflops)} x2={x(budgetGflops)} y1={M.top} y2={H - M.bottom} stroke="#0072B2" strokeWidth={1.5} strokeDasharray="2 3" />
              <text x={x(budgetGflops) + 4} y={M.top + 12} fontSize={10} fill="#0072B2">
                budget {fmtGflops(budgetGflops)}
              </text>
            </g>
          )}
          <path d={layout.frontPath} fill="none" stroke="#777777" strokeWidth={5} strokeOpacity={0.25} strokeLinejoin="round" />
          {layout.series.map((s) => (
            <path key={s.method} d={s.d} fill="none" stroke={methodColour(s.method)} strokeWidth={2} />
          ))}
          {layout.rows.slice(1).map((r, i) => point(r, i + 1))}
          {point(base, 0)}
          <g transform={`translate(${W - M.right + 16},0)`} fontSize={11} fill="#1b1b1f">
            <text x={0} y={M.top} fontWeight={600}>
              Methods
            </text>
            {[...methods, 'none' as const].map((m, i) => (
              <g key={m} transform={`translate(0,${legendY(i)})`}>
                {m !== 'none' && <line x1={0} x2={22} y1={0} y2={0} stroke={methodColour(m)} strokeWidth={2} />}
                <path transform="translate(11,0)" d={markPath(m, 60)} fill={methodColour(m)} stroke="#ffffff" />
                <text x={28} y={4}>
                  {methodLabel(m)} ({shapeName(m)})
                </text>
              </g>
            ))}
            <g transform={`translate(0,${legendY(methods.length + 1)})`}>
              <line x1={0} x2={22} y1={0} y2={0} stroke="#777777" strokeWidth={5} strokeOpacity={0.25} />
              <text x={28} y={4}>
                Pareto front
              </text>
            </g>
            <text x={0} y={legendY(methods.length + 2) + 4} fill="#5b5d66" fontSize={10}>
              black outline: on the front
            </text>
            <text x={0} y={legendY(methods.length + 3) + 4} fill="#5b5d66" fontSize={10}>
              {higherIsBetter(metric) ? 'best: up and left' : 'best: down and left'}
            </text>
          </g>
        </svg>
        {card}
      </div>
    </figure>
  );
}
