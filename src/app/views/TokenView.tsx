/**
 * The token view: one large grid for the selected block, small multiples of every block, step and
 * play, and the lineage of one followed patch (hover, click to pin, or arrow keys) lit up at every
 * block. Hover, pin and play state stay here; the selected block is the caller's (it is in the URL).
 */
import { useEffect, useMemo, useState } from 'react';
import { describeLineage, type GridGeometry, type LayerView, lineageOf } from '../fates';
import { FATE_COLOUR, FATE_LABEL, FATE_MARK, GROUP_COLOURS } from '../palette';
import type { DisplayFate } from '../fates';
import { FateGrid, type GridHighlight } from './FateGrid';

interface Props {
  views: LayerView[];
  image: CanvasImageSource | null;
  geo: GridGeometry;
  layer: number;
  onSelectLayer(layer: number): void;
}

const prefersReducedMotion = () => typeof window !== 'undefined' && window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;

/** Dispatched on window to play or pause the block animation from elsewhere (the lesson player). */
export const PLAY_EVENT = 'tokenscope:play';

export function TokenView({ views, image, geo, layer, onSelectLayer }: Props) {
  const [hover, setHover] = useState<number | null>(null);
  const [pinned, setPinned] = useState<number | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const depth = views.length;
  const followed = hover ?? cursor ?? pinned;
  const lineage = useMemo(() => (followed === null ? null : lineageOf(views, followed)), [views, followed]);

  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(
      () => {
        if (layer >= depth - 1) setPlaying(false);
        else onSelectLayer(layer + 1);
      },
      prefersReducedMotion() ? 2000 : 800,
    );
    return () => clearInterval(timer);
  }, [playing, layer, depth, onSelectLayer]);

  const highlightAt = (l: number): GridHighlight | undefined => {
    if (!lineage) return undefined;
    const step = lineage.steps[l];
    return { members: new Set(step.members), focus: lineage.token, droppedHere: lineage.droppedAt === l };
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    const { grid, firstPatch } = geo;
    const start = cursor ?? pinned ?? firstPatch + Math.floor(grid / 2) * grid + Math.floor(grid / 2);
    const p = start - firstPatch;
    let [r, c] = [Math.floor(p / grid), p % grid];
    switch (e.key) {
      case 'ArrowUp':
        r = Math.max(0, r - 1);
        break;
      case 'ArrowDown':
        r = Math.min(grid - 1, r + 1);
        break;
      case 'ArrowLeft':
        c = Math.max(0, c - 1);
        break;
      case 'ArrowRight':
        c = Math.min(grid - 1, c + 1);
        break;
      case 'Enter':
      case ' ':
        setPinned(pinned === start ? null : start);
        e.preventDefault();
        return;
      case 'Escape':
        setPinned(null);
        setCursor(null);
        return;
      default:
        return;
    }
    e.preventDefault();
    setCursor(firstPatch + r * grid + c);
  };

  const togglePlay = () => {
    if (playing) return setPlaying(false);
    if (layer >= depth - 1) onSelectLayer(0);
    setPlaying(true);
  };

  // The lesson player's space bar (lessons/LessonPanel.tsx) plays or pauses the blocks.
  useEffect(() => {
    const onPlay = () => togglePlay();
    window.addEventListener(PLAY_EVENT, onPlay);
    return () => window.removeEventListener(PLAY_EVENT, onPlay);
  });

  const view = views[layer];
  const large = Math.max(36, Math.min(64, Math.floor(420 / geo.grid)));
  const small = Math.max(8, Math.min(16, Math.floor(112 / geo.grid)));
  const fates: DisplayFate[] = ['kept', 'merged', 'fused', 'sampled', 'dropped'];

  return (
    <section className="panel token-view" aria-labelledby="token-view-title">
      <h2 id="token-view-title">Every patch's fate, block by block</h2>
      <ul className="legend" aria-label="Legend">
        {fates.map((f) => (
          <li key={f}>
            <span
              className={`swatch swatch-${f}`}
              style={f === 'merged' ? { background: `linear-gradient(90deg, ${GROUP_COLOURS.slice(0, 4).join(',')})` } : { background: FATE_COLOUR[f] }}
              aria-hidden="true"
            />
            {FATE_LABEL[f]} <span className="muted">({FATE_MARK[f]})</span>
          </li>
        ))}
      </ul>
      <div className="token-main">
        <div>
          <div className="step-controls" role="group" aria-label="Choose the block">
            <button type="button" onClick={() => onSelectLayer(Math.max(0, layer - 1))} disabled={layer === 0} aria-label="Previous block">
              ◀
            </button>
            <button type="button" onClick={togglePlay} aria-pressed={playing}>
              {playing ? 'Pause' : 'Play'}
            </button>
            <button type="button" onClick={() => onSelectLayer(Math.min(depth - 1, layer + 1))} disabled={layer === depth - 1} aria-label="Next block">
              ▶
            </button>
            <span className="step-label" aria-live="polite">
              After block {layer} of {depth - 1}: <strong>{view.nOut}</strong> tokens {view.method ? `(${view.method} here)` : '(no reduction here)'}
            </span>
          </div>
          <div
            className="grid-focus"
            tabIndex={0}
            role="group"
            aria-label={`Patch grid after block ${layer}. Arrow keys follow a patch, Enter pins it, Escape clears.`}
            aria-describedby="lineage-text"
            onKeyDown={onKeyDown}
            onBlur={() => setCursor(null)}
            data-testid="token-grid"
          >
            <FateGrid
              key={layer}
              image={image}
              view={view}
              geo={geo}
              cell={large}
              highlight={highlightAt(layer)}
              label={`After block ${layer}: ${view.nOut} tokens`}
              onPointToken={(t, pick) => (pick ? setPinned(t === pinned ? null : t) : setHover(t))}
            />
          </div>
        </div>
        <div className="lineage-panel">
          <h3>Lineage</h3>
          <p id="lineage-text" aria-live="polite" data-testid="lineage-text">
            {lineage ? describeLineage(lineage, geo) : 'Hover or click a patch (or focus the grid and use the arrow keys) to follow it through every block.'}
          </p>
          {pinned !== null && (
            <button type="button" onClick={() => setPinned(null)}>
              Unpin patch
            </button>
          )}
        </div>
      </div>
      <ol className="multiples" aria-label="All blocks">
        {views.map((v) => (
          <li key={v.layer}>
            <button type="button" className="multiple" aria-pressed={v.layer === layer} onClick={() => onSelectLayer(v.layer)}>
              {/* Named by its content (the visible text and more), so the name and the label agree. */}
              <span className="multiple-title">
                <span className="visually-hidden">Show block </span>
                {v.layer}
                {v.method ? ` · ${v.method}` : ''}
              </span>
              <FateGrid image={image} view={v} geo={geo} cell={small} highlight={highlightAt(v.layer)} label={`After block ${v.layer}`} />
              <span className="multiple-count">{v.nOut} tokens</span>
              {lineage?.droppedAt === v.layer && <span className="dropped-flag">dropped here</span>}
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
