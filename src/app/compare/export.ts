/**
 * Exports of a sweep: CSV and JSON (pure functions of the result), and the plot as SVG or PNG
 * (browser: serialises the drawn SVG, which carries its styles as attributes, so the file looks the
 * same outside the page). Numbers are written in full (shortest round-trip form), so a file read
 * back gives exactly the plotted values.
 */
import { csvCell } from '../export/formats';
import type { SweepResult } from './protocol';
import { cliCommand, percentOfBase, provenance } from './rows';

export const SWEEP_FORMAT = 'tokenscope-sweep';
export const SWEEP_FORMAT_VERSION = 1;

export const SWEEP_CSV_COLUMNS = [
  'method',
  'plan',
  'param',
  'value',
  'gflops',
  'percent_of_unreduced',
  'accuracy',
  'agreement',
  'kl',
  'overhead_gflops',
  'images',
  'source',
  'model',
  'model_hash',
  'trained',
  'backend',
  'batch',
  'computed_at',
] as const;

/** One row per point, the unreduced model first; accuracy is empty without labels. */
export function sweepCsv(result: SweepResult): string {
  const { model, data } = result;
  const source = provenance(data);
  const lines: (string | number | null)[][] = [[...SWEEP_CSV_COLUMNS]];
  for (const r of result.rows) {
    lines.push([
      r.method,
      r.plan,
      r.param,
      r.value,
      r.gflops,
      percentOfBase(r, result),
      r.accuracy,
      r.agreement,
      r.kl,
      r.overheadGflops,
      data.n,
      source,
      model.name,
      model.hash,
      model.untrained ? 'no' : 'yes',
      result.backend,
      result.batch,
      r.computedAt,
    ]);
  }
  return `${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

export interface SweepRecord {
  format: typeof SWEEP_FORMAT;
  version: number;
  kind: SweepResult['kind'];
  model: SweepResult['model'];
  data: SweepResult['data'] & { source: string };
  backend: string;
  batch: number;
  /** The CLI command computing the same points (bundled set only). */
  cli: string | null;
  budget: SweepResult['budget'] | null;
  /** `tokenscope sweep --json` fields, then overheadGflops, cached and computedAt. */
  points: SweepResult['rows'];
}

export function sweepRecord(result: SweepResult): SweepRecord {
  return {
    format: SWEEP_FORMAT,
    version: SWEEP_FORMAT_VERSION,
    kind: result.kind,
    model: result.model,
    data: { ...result.data, source: provenance(result.data) },
    backend: result.backend,
    batch: result.batch,
    cli: cliCommand(result),
    budget: result.budget ?? null,
    points: result.rows,
  };
}

export const sweepJson = (result: SweepResult) => `${JSON.stringify(sweepRecord(result), null, 1)}\n`;

/** The SVG element as a standalone file (namespace and XML declaration added). */
export function svgText(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('xmlns:xlink', 'http://www.w3.org/1999/xlink');
  // Interactive-only parts (focus rings, hover card anchors) are marked and left out.
  clone.querySelectorAll('[data-export="skip"]').forEach((n) => n.remove());
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}\n`;
}

/** Renders the SVG to a PNG at `scale` times its size, on white. */
export async function svgToPng(svg: SVGSVGElement, scale = 2): Promise<Blob> {
  const width = svg.viewBox.baseVal?.width || svg.clientWidth;
  const height = svg.viewBox.baseVal?.height || svg.clientHeight;
  const url = URL.createObjectURL(new Blob([svgText(svg)], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not encode a PNG'))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}
