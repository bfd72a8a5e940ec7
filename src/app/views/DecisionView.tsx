/**
 * The why view: what the method at the selected block decided by, drawn on the patch grid in the
 * method's own terms — the score as a heat map (with EViT/top-k's cut-off), the merge edges between
 * token centres (the ones taken bold, the rest faint), PiToMe's protected set outlined, ATS's CDF
 * and draws in a chart linked to the patches they pick. Hover or focus a token for its numbers and
 * one plain sentence. Every number comes from the trace's evidence (reduce/evidence.ts), the same
 * the CLI's `predict --evidence` prints.
 */
import { scaleLinear, scaleSequential } from 'd3';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Trace } from '../../model/run';
import { evidenceSentence, type LayerEvidence } from '../../reduce/evidence';
import { allEdgesByDefault, blockDecision, patchName, tokenName, type BlockTokens } from '../decision';
import type { GridGeometry, LayerView } from '../fates';
import { edgeKey, tokenHighlight, type TokenHighlight } from '../lessons/highlight';
import type { HighlightKind } from '../lessons/types';
import { DECISION_COLOUR, SCORE_INTERPOLATOR } from '../palette';
import { AtsCdfChart } from './AtsCdfChart';

interface Props {
  trace: Trace;
  views: LayerView[];
  image: CanvasImageSource | null;
  geo: GridGeometry;
  layer: number;
  /** What a lesson step points at on this block, if anything. */
  highlight?: HighlightKind | null;
}

const fmt = (v: number) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(2));

export function DecisionView({ trace, views, image, geo, layer, highlight = null }: Props) {
  const decision = useMemo(() => blockDecision(trace, views, geo, layer), [trace, views, geo, layer]);
  const marked = decision.kind === 'evidence' && highlight ? tokenHighlight(decision.evidence, highlight) : null;
  return (
    <section className="panel decision-view" aria-labelledby="decision-view-title" data-testid="decision-view" data-layer={layer}>
      <h2 id="decision-view-title">Why these tokens? Block {layer}</h2>
      {decision.kind === 'none' ? (
        <p data-testid="evidence-sentence">Nothing was decided here: {decision.reason}.</p>
      ) : (
        <EvidencePanel key={layer} evidence={decision.evidence} tokens={decision.tokens} image={image} geo={geo} highlight={marked} />
      )}
    </section>
  );
}

function EvidencePanel({
  evidence,
  tokens,
  image,
  geo,
  highlight,
}: {
  evidence: LayerEvidence;
  tokens: BlockTokens;
  image: CanvasImageSource | null;
  geo: GridGeometry;
  highlight: TokenHighlight | null;
}) {
  const { grid, firstPatch } = geo;
  const [focus, setFocus] = useState<number | null>(null);
  const [allEdges, setAllEdges] = useState(allEdgesByDefault(evidence.tokens.length));
  const cell = Math.max(24, Math.min(56, Math.floor(420 / grid)));
  const side = grid * cell;
  const scored = evidence.tokens.filter((t) => t.score !== null);
  const [lo, hi] = scored.length ? [Math.min(...scored.map((t) => t.score!)), Math.max(...scored.map((t) => t.score!))] : [0, 1];
  const colour = useMemo(() => scaleSequential(SCORE_INTERPOLATOR).domain([lo, hi === lo ? lo + 1 : hi]), [lo, hi]);
  const name = useMemo(() => tokenName(tokens, grid, firstPatch), [tokens, grid, firstPatch]);
  const best = scored.reduce<number | null>((b, t) => (b === null || (t.rank ?? Infinity) < (evidence.tokens[b].rank ?? Infinity) ? t.row : b), null);
  const shown = focus ?? best ?? 0;
  const covering = tokens.patches[shown]?.length ?? 0;
  const sentence = evidence.idle
    ? `Nothing was decided at block ${evidence.layer}: ${evidence.idle}.`
    : `${evidenceSentence(evidence, shown, name)}${covering > 1 ? ` It covers ${covering} patches after earlier merges; the evidence is this token's, shown on each of them.` : ''}`;
  const protectedRows = new Set(evidence.protectedRows ?? []);
  const markedRows = new Set(highlight?.rows ?? []);
  const markedEdges = new Set((highlight?.edges ?? []).map(edgeKey));
  // A step's edges are drawn even where the reader has hidden the untaken ones, and on top.
  const edges = evidence.edges.filter((e) => (allEdges || e.chosen) && !markedEdges.has(edgeKey(e))).concat(highlight?.edges ?? []);

  const onKeyDown = (e: React.KeyboardEvent) => {
    const rows = evidence.tokens.length;
    const step: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (e.key in step) {
      setFocus(((focus ?? shown) + step[e.key] + rows) % rows);
      e.preventDefault();
    } else if (e.key === 'Escape') setFocus(null);
  };

  const centre = (row: number) => tokens.centre[row];
  return (
    <div className="decision-main">
      <p className="muted small">
        {evidence.method} at block {evidence.layer}, on the {evidence.tokens.length} tokens entering it. Colour: {evidence.scoreName}
        {evidence.cutoff != null && <>; cut-off {fmt(evidence.cutoff)}</>}
        {evidence.tokens.some((t) => t.outcome === 'dropped' || t.outcome === 'fused') && <>; dashed outline: dropped (or fused) at this block</>}
        {evidence.r !== undefined && <>; r = {evidence.r} merges here</>}
        {protectedRows.size > 0 && <>; blue outline: protected from merging</>}
        {evidence.edges.some((e) => e.direction === 2) && <>; solid lines: A→B edges, dashed: B→A</>}
        {evidence.method === 'gtp' && (
          <>
            ; lines: each propagated token to the kept graph neighbours it is added to (weight alpha · W, in the sentence), {evidence.r} propagated here; kept tokens
            leave in descending score order
          </>
        )}
        . Numbers from this run's trace (the CLI prints the same with predict --evidence).
      </p>
      {highlight && (
        <p
          className="lesson-highlight small"
          data-testid="lesson-highlight"
          data-kind={highlight.kind}
          data-rows={highlight.rows.length}
          data-edges={highlight.edges.length}
        >
          <span className="highlight-key" aria-hidden="true" /> Lesson: outlined in purple, {highlight.label} (
          {highlight.rows.length ? `${highlight.rows.length} tokens` : ''}
          {highlight.rows.length && highlight.edges.length ? ', ' : ''}
          {highlight.edges.length ? `${highlight.edges.length} edges` : ''}
          {!highlight.rows.length && !highlight.edges.length ? 'none at this block' : ''}).
        </p>
      )}
      <ScoreLegend lo={lo} hi={hi} colour={colour} label={evidence.scoreName} />
      {evidence.edges.length > 0 && (
        <label className="small">
          <input type="checkbox" checked={allEdges} onChange={(e) => setAllEdges(e.target.checked)} /> show all {evidence.edges.length} edges (
          {evidence.edges.filter((e) => e.chosen).length} taken, drawn bold)
        </label>
      )}
      <div className="decision-grid" style={{ position: 'relative', width: side, height: side }}>
        <ImageCanvas image={image} side={side} />
        <svg
          width={side}
          height={side}
          viewBox={`0 0 ${side} ${side}`}
          style={{ position: 'absolute', inset: 0 }}
          tabIndex={0}
          role="group"
          aria-label={`Evidence of block ${evidence.layer}; arrow keys move between tokens`}
          aria-describedby="evidence-sentence"
          onKeyDown={onKeyDown}
          onPointerLeave={() => setFocus(null)}
        >
          {evidence.tokens.map((t) => {
            const ps = tokens.patches[t.row];
            if (ps.length === 0) return null;
            const below = t.outcome === 'dropped' || t.outcome === 'fused';
            return (
              <g
                key={t.row}
                data-testid="evidence-token"
                data-row={t.row}
                {...(t.score !== null ? { 'data-score': String(t.score) } : {})}
                data-outcome={t.outcome}
                {...(markedRows.has(t.row) ? { 'data-highlighted': '1' } : {})}
                onPointerEnter={() => setFocus(t.row)}
                onClick={() => setFocus(t.row)}
              >
                {ps.map((p) => (
                  <rect
                    key={p}
                    x={(p % grid) * cell + 1}
                    y={Math.floor(p / grid) * cell + 1}
                    width={cell - 2}
                    height={cell - 2}
                    fill={t.score === null ? 'transparent' : colour(t.score)}
                    fillOpacity={0.62}
                    stroke={protectedRows.has(t.row) ? DECISION_COLOUR.protected : below ? DECISION_COLOUR.cutoff : t.row === shown ? '#ffffff' : 'none'}
                    strokeWidth={protectedRows.has(t.row) ? 3 : t.row === shown ? 3 : 1.5}
                    strokeDasharray={below ? '4 3' : undefined}
                  >
                    <title>{`${patchName(p, grid)}: ${t.score === null ? 'no score of its own' : fmt(t.score)}`}</title>
                  </rect>
                ))}
                {markedRows.has(t.row) &&
                  ps.map((p) => (
                    <rect
                      key={`h${p}`}
                      x={(p % grid) * cell + 4}
                      y={Math.floor(p / grid) * cell + 4}
                      width={cell - 8}
                      height={cell - 8}
                      fill="none"
                      stroke={DECISION_COLOUR.highlight}
                      strokeWidth={4}
                      pointerEvents="none"
                    />
                  ))}
              </g>
            );
          })}
          {edges.map((e) => {
            const [a, b] = [centre(e.from), centre(e.to)];
            if (!a || !b) return null;
            const marked = markedEdges.has(edgeKey(e));
            return (
              <line
                key={edgeKey(e)}
                {...(marked ? { 'data-highlighted': '1' } : {})}
                data-testid="evidence-edge"
                x1={a[0] * cell}
                y1={a[1] * cell}
                x2={b[0] * cell}
                y2={b[1] * cell}
                stroke={marked ? DECISION_COLOUR.highlight : e.chosen ? DECISION_COLOUR.chosenEdge : DECISION_COLOUR.otherEdge}
                strokeWidth={marked ? 4 : e.chosen ? 3 : 1}
                strokeOpacity={marked || e.chosen ? 0.95 : 0.45}
                strokeDasharray={e.direction === 2 ? '6 3' : undefined}
                pointerEvents="none"
              />
            );
          })}
        </svg>
      </div>
      <SpecialTokens evidence={evidence} tokens={tokens} onFocus={setFocus} />
      <p id="evidence-sentence" className="evidence-sentence" aria-live="polite" data-testid="evidence-sentence" data-row={shown}>
        {sentence}
      </p>
      {(() => {
        const group = evidence.groups?.find((g) => g.rows.includes(shown));
        return group ? (
          <p className="small muted" data-testid="evidence-group">
            Merged here with {group.rows.length - 1} other token{group.rows.length > 2 ? 's' : ''}: together {group.size} patches, so proportional attention (where
            the plan turns it on) adds log {group.size} = {group.logSizeBias.toFixed(3)} to the logits of every query towards it.
          </p>
        ) : null;
      })()}
      {evidence.cdf && (
        <div
          className={highlight?.kind === 'cdf' ? 'lesson-highlighted' : undefined}
          data-testid="cdf-wrap"
          {...(highlight?.kind === 'cdf' ? { 'data-highlighted': '1' } : {})}
        >
          <AtsCdfChart cdf={evidence.cdf} focusRow={shown} onFocusRow={setFocus} />
        </div>
      )}
    </div>
  );
}

/** Tokens with no patch of their own (CLS, DIST), listed beside the grid with the same test hooks. */
function SpecialTokens({ evidence, tokens, onFocus }: { evidence: LayerEvidence; tokens: BlockTokens; onFocus(row: number): void }) {
  const special = evidence.tokens.filter((t) => tokens.patches[t.row].length === 0);
  if (special.length === 0) return null;
  return (
    <p className="small muted">
      Not on the grid:{' '}
      {special.map((t) => (
        <button
          type="button"
          key={t.row}
          className="link-button"
          data-testid="evidence-token"
          data-row={t.row}
          {...(t.score !== null ? { 'data-score': String(t.score) } : {})}
          onClick={() => onFocus(t.row)}
        >
          {t.row === 0 ? 'CLS' : 'DIST'} ({t.score === null ? 'no score' : fmt(t.score)}, {t.outcome})
        </button>
      ))}
    </p>
  );
}

function ScoreLegend({ lo, hi, colour, label }: { lo: number; hi: number; colour: (v: number) => string; label: string }) {
  const stops = scaleLinear().domain([0, 4]).range([lo, hi]);
  return (
    <div className="score-legend small" aria-label={`${label}: from ${fmt(lo)} to ${fmt(hi)}`}>
      <span>{fmt(lo)}</span>
      <span
        className="score-ramp"
        style={{
          display: 'inline-block',
          width: 160,
          height: 10,
          margin: '0 0.4rem',
          background: `linear-gradient(90deg, ${[0, 1, 2, 3, 4].map((i) => colour(stops(i))).join(',')})`,
        }}
        aria-hidden="true"
      />
      <span>{fmt(hi)}</span>&nbsp;<span className="muted">{label} (viridis; no fill: no score of its own)</span>
    </div>
  );
}

function ImageCanvas({ image, side }: { image: CanvasImageSource | null; side: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, side, side);
    ctx.imageSmoothingEnabled = false;
    if (image) ctx.drawImage(image, 0, 0, side, side);
  }, [image, side]);
  return <canvas ref={ref} width={side} height={side} style={{ position: 'absolute', inset: 0 }} aria-hidden="true" />;
}
