/**
 * Canvas drawing of fate grids, shared by the token view and the PNG export. The model input is
 * drawn under a grid of patches; each patch is marked by its fate at one layer, and lines between
 * cells that belong to different tokens outline every merged group.
 */
import type { GridGeometry, LayerView } from '../fates';
import type { ModelInput } from '../image/preprocess';
import { FATE_COLOUR, GROUP_COLOURS, withAlpha } from '../palette';

/** The model input (before normalisation) as an S×S canvas. */
export function inputCanvas(input: ModelInput): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = input.size;
  c.height = input.size;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(input.size, input.size);
  for (let i = 0; i < input.size * input.size; i++) {
    const px = input.channels === 1 ? [input.u8[i], input.u8[i], input.u8[i]] : [input.u8[3 * i], input.u8[3 * i + 1], input.u8[3 * i + 2]];
    img.data.set([...px, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/** Draws one layer's fates at (x0, y0) with `cell` pixels per patch; `view` null = the input alone. */
export function drawFateGrid(
  ctx: CanvasRenderingContext2D,
  image: CanvasImageSource,
  view: LayerView | null,
  geo: GridGeometry,
  x0: number,
  y0: number,
  cell: number,
): void {
  const { grid, firstPatch } = geo;
  const side = grid * cell;
  ctx.save();
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, x0, y0, side, side);
  if (view) {
    for (let r = 0; r < grid; r++) {
      for (let c = 0; c < grid; c++) {
        const t = firstPatch + r * grid + c;
        const x = x0 + c * cell;
        const y = y0 + r * cell;
        switch (view.fate[t]) {
          case 'dropped':
            ctx.fillStyle = 'rgba(20, 20, 20, 0.78)';
            ctx.fillRect(x, y, cell, cell);
            break;
          case 'merged':
            ctx.fillStyle = withAlpha(GROUP_COLOURS[view.groupColour[t]] ?? FATE_COLOUR.merged, 0.6);
            ctx.fillRect(x, y, cell, cell);
            break;
          case 'fused':
            ctx.fillStyle = withAlpha(FATE_COLOUR.fused, 0.45);
            ctx.fillRect(x, y, cell, cell);
            hatch(ctx, x, y, cell);
            break;
          case 'sampled': {
            const inset = Math.max(1.5, cell * 0.16);
            ctx.strokeStyle = FATE_COLOUR.sampled;
            ctx.lineWidth = Math.max(1.25, cell * 0.05);
            ctx.strokeRect(x + inset, y + inset, cell - 2 * inset, cell - 2 * inset);
            break;
          }
          case 'kept':
            break;
        }
      }
    }
  }
  // thin lines between all patches
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.28)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 1; i < grid; i++) {
    ctx.moveTo(x0 + i * cell + 0.5, y0);
    ctx.lineTo(x0 + i * cell + 0.5, y0 + side);
    ctx.moveTo(x0, y0 + i * cell + 0.5);
    ctx.lineTo(x0 + side, y0 + i * cell + 0.5);
  }
  ctx.stroke();
  if (view) drawGroupOutlines(ctx, view, geo, x0, y0, cell);
  ctx.restore();
}

function hatch(ctx: CanvasRenderingContext2D, x: number, y: number, cell: number): void {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, cell, cell);
  ctx.clip();
  ctx.strokeStyle = withAlpha('#ffffff', 0.75);
  ctx.lineWidth = Math.max(1, cell / 14);
  const step = Math.max(3, cell / 4);
  ctx.beginPath();
  for (let d = -cell; d < cell; d += step) {
    ctx.moveTo(x + d, y + cell);
    ctx.lineTo(x + d + cell, y);
  }
  ctx.stroke();
  ctx.restore();
}

/** A dark line on every cell edge where a merged or fused token meets another token. */
function drawGroupOutlines(ctx: CanvasRenderingContext2D, view: LayerView, { grid, firstPatch }: GridGeometry, x0: number, y0: number, cell: number): void {
  const grouped = (t: number) => view.fate[t] === 'merged' || view.fate[t] === 'fused';
  const ownerAt = (r: number, c: number) => (r < 0 || c < 0 || r >= grid || c >= grid ? -2 : view.owner[firstPatch + r * grid + c]);
  ctx.strokeStyle = '#111111';
  ctx.lineWidth = Math.max(1.5, cell / 12);
  ctx.lineCap = 'square';
  const edge = (xa: number, ya: number, xb: number, yb: number) => {
    ctx.moveTo(xa, ya);
    ctx.lineTo(xb, yb);
  };
  ctx.beginPath();
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const t = firstPatch + r * grid + c;
      if (!grouped(t)) continue;
      const me = view.owner[t];
      const x = x0 + c * cell;
      const y = y0 + r * cell;
      if (ownerAt(r - 1, c) !== me) edge(x, y, x + cell, y);
      if (ownerAt(r + 1, c) !== me) edge(x, y + cell, x + cell, y + cell);
      if (ownerAt(r, c - 1) !== me) edge(x, y, x, y + cell);
      if (ownerAt(r, c + 1) !== me) edge(x + cell, y, x + cell, y + cell);
    }
  }
  ctx.stroke();
}

/** Every layer side by side with its block number and token count, for the PNG export. */
export function drawLayerStrip(views: LayerView[], image: CanvasImageSource, geo: GridGeometry, title: string, cell = 12): HTMLCanvasElement {
  const side = geo.grid * cell;
  const gap = 14;
  const top = 44;
  const c = document.createElement('canvas');
  c.width = gap + (views.length + 1) * (side + gap);
  c.height = top + side + gap;
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.fillStyle = '#111111';
  ctx.font = '13px system-ui, sans-serif';
  ctx.fillText(title, gap, 16);
  ctx.font = '11px system-ui, sans-serif';
  const panels: [string, LayerView | null][] = [
    [`input · ${views[0]?.nIn ?? ''} tokens`, null],
    ...views.map((v): [string, LayerView] => [`after ${v.layer} · ${v.nOut}`, v]),
  ];
  panels.forEach(([label, view], i) => {
    const x = gap + i * (side + gap);
    ctx.fillStyle = '#111111';
    ctx.fillText(label, x, top - 6);
    drawFateGrid(ctx, image, view, geo, x, top, cell);
  });
  return c;
}
