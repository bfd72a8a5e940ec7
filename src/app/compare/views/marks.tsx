/**
 * How each method is marked in the compare views: its colour (palette.ts, Paul Tol's "bright"
 * scheme) and a shape of its own, so series stay apart without colour too.
 */
import { symbol, symbolCircle, symbolCross, symbolDiamond, symbolSquare, symbolStar, symbolTriangle, symbolWye, type SymbolType } from 'd3';
import { METHOD_SPECS } from '../../../reduce/plan';
import type { MethodId } from '../../../reduce/types';
import { METHOD_COLOUR } from '../../palette';

export const UNREDUCED_COLOUR = '#222222';

/** A filled regular polygon of `sides` corners, point up, with the given area (d3 symbol type). */
function polygon(sides: number, pointDown = false): SymbolType {
  return {
    draw(context, size) {
      // area of a regular polygon with circumradius R: (sides/2)·R²·sin(2π/sides)
      const r = Math.sqrt(size / ((sides / 2) * Math.sin((2 * Math.PI) / sides)));
      for (let i = 0; i < sides; i++) {
        const a = (pointDown ? Math.PI / 2 : -Math.PI / 2) + (2 * Math.PI * i) / sides;
        if (i === 0) context.moveTo(r * Math.cos(a), r * Math.sin(a));
        else context.lineTo(r * Math.cos(a), r * Math.sin(a));
      }
      context.closePath();
    },
  };
}

const SHAPES: Record<MethodId | 'none', { type: SymbolType; name: string }> = {
  tome: { type: symbolCircle, name: 'circle' },
  pitome: { type: symbolDiamond, name: 'diamond' },
  evit: { type: symbolSquare, name: 'square' },
  topk: { type: symbolTriangle, name: 'triangle' },
  ats: { type: symbolCross, name: 'cross' },
  mctf: { type: symbolWye, name: 'Y' },
  diffrate: { type: polygon(5), name: 'pentagon' },
  atc: { type: polygon(6), name: 'hexagon' },
  ppt: { type: polygon(8), name: 'octagon' },
  gtp: { type: polygon(3, true), name: 'triangle, point down' },
  none: { type: symbolStar, name: 'star' },
};

export const methodColour = (m: MethodId | 'none') => (m === 'none' ? UNREDUCED_COLOUR : METHOD_COLOUR[m]);
export const methodLabel = (m: MethodId | 'none') => (m === 'none' ? 'unreduced' : METHOD_SPECS[m].label);
export const shapeName = (m: MethodId | 'none') => SHAPES[m].name;
/** SVG path of the method's mark centred on 0,0 with `area` square pixels. */
export const markPath = (m: MethodId | 'none', area = 64) => symbol(SHAPES[m].type, area)() ?? '';

/** A small inline SVG of the mark, for legends and tables. */
export function MarkIcon({ method, size = 14 }: { method: MethodId | 'none'; size?: number }) {
  return (
    <svg width={size} height={size} viewBox={`${-size / 2} ${-size / 2} ${size} ${size}`} aria-hidden="true" className="mark-icon">
      <path d={markPath(method, size * size * 0.45)} fill={methodColour(method)} stroke="#ffffff" strokeWidth={0.8} />
    </svg>
  );
}

export const fmtGflops = (g: number) => g.toPrecision(4);
export const fmtPercent = (x: number | null, digits = 1) => (x === null ? '—' : `${(100 * x).toFixed(digits)}%`);
export const fmtKl = (kl: number) => (kl === 0 ? '0' : kl.toExponential(2));
