/**
 * One layer's patch grid: the fates on a canvas (draw-fates.ts), the lineage marks on an SVG
 * overlay. Interactive when `onPointToken` is given: pointer hover and click report a token.
 */
import { useEffect, useRef } from 'react';
import { type GridGeometry, type LayerView, patchToken } from '../fates';
import { drawFateGrid } from './draw-fates';

export interface GridHighlight {
  /** Original tokens sharing the followed token's row at this layer. */
  members: ReadonlySet<number>;
  /** The followed token (cursor). */
  focus: number | null;
  /** The followed token vanished at this very layer. */
  droppedHere: boolean;
}

interface Props {
  image: CanvasImageSource | null;
  view: LayerView | null;
  geo: GridGeometry;
  cell: number;
  highlight?: GridHighlight;
  onPointToken?(token: number | null, pick: boolean): void;
  label: string;
}

export function FateGrid({ image, view, geo, cell, highlight, onPointToken, label }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const side = geo.grid * cell;
  const dpr = typeof window === 'undefined' ? 1 : Math.min(2, window.devicePixelRatio || 1);

  useEffect(() => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, side, side);
    if (image) drawFateGrid(ctx, image, view, geo, 0, 0, cell);
  }, [image, view, geo, cell, side, dpr]);

  const tokenAt = (e: React.PointerEvent<SVGSVGElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    const c = Math.floor(((e.clientX - box.left) / box.width) * geo.grid);
    const r = Math.floor(((e.clientY - box.top) / box.height) * geo.grid);
    return r >= 0 && c >= 0 && r < geo.grid && c < geo.grid ? patchToken(geo, r, c) : null;
  };

  const marks: React.ReactNode[] = [];
  if (highlight) {
    // One outline around the followed token's patches: the edges where a member meets a non-member.
    const { grid, firstPatch } = geo;
    const member = (r: number, c: number) => r >= 0 && c >= 0 && r < grid && c < grid && highlight.members.has(firstPatch + r * grid + c);
    let d = '';
    for (const t of highlight.members) {
      const p = t - firstPatch;
      if (p < 0) continue;
      const [r, c] = [Math.floor(p / grid), p % grid];
      const [x, y] = [c * cell, r * cell];
      if (!member(r - 1, c)) d += `M${x},${y}h${cell}`;
      if (!member(r + 1, c)) d += `M${x},${y + cell}h${cell}`;
      if (!member(r, c - 1)) d += `M${x},${y}v${cell}`;
      if (!member(r, c + 1)) d += `M${x + cell},${y}v${cell}`;
    }
    if (d) marks.push(<path key="members" className="lineage-member" d={d} />);
    if (highlight.focus !== null && highlight.focus >= geo.firstPatch) {
      const p = highlight.focus - geo.firstPatch;
      const [x, y] = [(p % geo.grid) * cell, Math.floor(p / geo.grid) * cell];
      marks.push(<rect key="focus" className="lineage-focus" x={x + 0.5} y={y + 0.5} width={cell - 1} height={cell - 1} />);
      if (highlight.droppedHere) {
        marks.push(
          <path
            key="x"
            className="lineage-dropped"
            d={`M${x + cell * 0.2},${y + cell * 0.2}L${x + cell * 0.8},${y + cell * 0.8}M${x + cell * 0.8},${y + cell * 0.2}L${x + cell * 0.2},${y + cell * 0.8}`}
          />,
        );
      }
    }
  }

  return (
    <div className="fate-grid" style={{ width: side, height: side }}>
      <canvas ref={canvasRef} width={side * dpr} height={side * dpr} style={{ width: side, height: side }} aria-hidden="true" />
      <svg
        width={side}
        height={side}
        viewBox={`0 0 ${side} ${side}`}
        role="img"
        aria-label={label}
        onPointerMove={onPointToken ? (e) => onPointToken(tokenAt(e), false) : undefined}
        onPointerLeave={onPointToken ? () => onPointToken(null, false) : undefined}
        onClick={onPointToken ? (e) => onPointToken(tokenAt(e as unknown as React.PointerEvent<SVGSVGElement>), true) : undefined}
      >
        {marks}
      </svg>
    </div>
  );
}
