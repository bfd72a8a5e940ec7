/**
 * ATS's inverse-transform sampling as a chart: the significance sorted ascending (bars), its
 * normalised CDF (line), and the evenly spaced draws y on the left, each joined to the CDF entry it
 * lands on. A column stands for one token: hovering it (or a token on the grid) links the two.
 */
import { line, scaleBand, scaleLinear } from 'd3';
import { useMemo } from 'react';
import type { CdfEvidence } from '../../reduce/evidence';
import { DECISION_COLOUR, SERIES_COLOUR } from '../palette';

interface Props {
  cdf: CdfEvidence;
  focusRow: number;
  onFocusRow(row: number): void;
}

const W = 460;
const H = 190;
const M = { left: 36, right: 10, top: 8, bottom: 26 };

export function AtsCdfChart({ cdf, focusRow, onFocusRow }: Props) {
  const t = cdf.sortedRows.length;
  const x = useMemo(
    () =>
      scaleBand<number>()
        .domain(Array.from({ length: t }, (_, i) => i))
        .range([M.left, W - M.right])
        .padding(0.1),
    [t],
  );
  const y = useMemo(
    () =>
      scaleLinear()
        .domain([0, 1])
        .range([H - M.bottom, M.top]),
    [],
  );
  const maxScore = Math.max(...cdf.sortedScores, 1e-12);
  const bar = scaleLinear()
    .domain([0, maxScore])
    .range([0, (H - M.top - M.bottom) * 0.6]);
  const path = line<number>()
    .x((_, i) => x(i)! + x.bandwidth() / 2)
    .y((v) => y(v))(cdf.normalizedCdf);
  const positionOf = new Map(cdf.sortedRows.map((row, i) => [row, i]));
  return (
    <figure className="ats-chart">
      <svg
        width={W}
        height={H}
        role="img"
        aria-label={`ATS: ${cdf.ys.length} draws on the normalised CDF of ${t} tokens; ${cdf.duplicates} land on a token already picked; ${cdf.kept} tokens kept, CLS included`}
      >
        {cdf.sortedScores.map((s, i) => (
          <rect
            key={i}
            x={x(i)}
            width={x.bandwidth()}
            y={H - M.bottom - bar(s)}
            height={bar(s)}
            fill={cdf.sortedRows[i] === focusRow ? SERIES_COLOUR.plan : '#b8b8b8'}
            onPointerEnter={() => onFocusRow(cdf.sortedRows[i])}
          >
            <title>{`token ${cdf.sortedRows[i]}: significance ${s.toPrecision(3)}, CDF ${cdf.normalizedCdf[i].toFixed(3)}`}</title>
          </rect>
        ))}
        <path d={path ?? ''} fill="none" stroke="#222" strokeWidth={1.5} />
        {cdf.ys.map((v, d) => {
          const row = cdf.drawRows[d];
          const at = positionOf.get(row);
          if (at === undefined) return <circle key={d} cx={M.left - 6} cy={y(v)} r={2} fill="#999" />;
          const linked = row === focusRow;
          return (
            <g key={d} data-draw={d} data-row={row}>
              <line
                x1={M.left - 8}
                x2={x(at)! + x.bandwidth() / 2}
                y1={y(v)}
                y2={y(v)}
                stroke={DECISION_COLOUR.draw}
                strokeOpacity={linked ? 0.9 : 0.25}
                strokeWidth={linked ? 2 : 1}
              />
              <circle cx={M.left - 6} cy={y(v)} r={linked ? 3 : 2} fill={DECISION_COLOUR.draw} />
            </g>
          );
        })}
        <text x={M.left - 30} y={M.top + 8} fontSize={10}>
          1
        </text>
        <text x={M.left - 30} y={H - M.bottom} fontSize={10}>
          0
        </text>
        <text x={M.left} y={H - 6} fontSize={10}>
          tokens by significance, ascending →
        </text>
      </svg>
      <figcaption className="small muted">
        Bars: significance (sorted); line: normalised CDF; green: the {cdf.ys.length} evenly spaced draws and the token each lands on. {cdf.duplicates} draws repeat
        a token, so this image keeps {cdf.kept} tokens.
      </figcaption>
    </figure>
  );
}
