/**
 * The numbers a lesson quotes, computed from the run on screen (the engine's trace, its FLOPs, its
 * logits and the measured latency), by name. A lesson's text has `{name}` slots; the panel renders
 * each in its own element, so the text never holds a number and every number follows the state.
 */
import { layerEvidence, tokenSizes } from '../../reduce/evidence';
import { fidelity } from '../fidelity';
import type { ModelInfo, RunResult, Timing } from '../worker/protocol';
import { mflops } from '../views/LayerTable';
import { formatGflops } from '../views/NumbersPanel';

export interface LiveInput {
  result: RunResult;
  model: ModelInfo;
  /** The selected block. */
  layer: number;
  timing: Timing | null;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** Every live value for the state on screen, formatted as the page shows it; absent where it does not apply. */
export function liveValues({ result, model, layer, timing }: LiveInput): Record<string, string> {
  const c = model.config;
  const trace = result.trace;
  const grid = c.image_size / c.patch_size;
  const at = trace.layers[Math.min(layer, trace.layers.length - 1)];
  const block = result.flops.blocks[at.layer];
  const fid = fidelity(result.logits, result.baselineLogits, c.id2label);
  const values: Record<string, string> = {
    model: model.name,
    grid: String(grid),
    patches: String(grid * grid),
    tokens: String(trace.tokens),
    depth: String(c.num_hidden_layers),
    layer: String(at.layer),
    method: at.method ?? 'no method',
    'tokens-in': String(at.nIn),
    'tokens-out': String(at.nOut),
    removed: String(at.nIn - at.nOut),
    'tokens-final': String(trace.layers[trace.layers.length - 1].nOut),
    gflops: formatGflops(result.flops.total),
    'gflops-base': formatGflops(result.baselineFlops.total),
    'gflops-percent': pct(result.flops.total / result.baselineFlops.total),
    'attn-share': pct((block.attnScores + block.attnValues) / block.model),
    'block-mflops': mflops(block.model),
    'block-mflops-base': mflops(result.baselineFlops.blocks[at.layer].model),
    'block-overhead': mflops(block.overhead),
    top1: fid.top[0].label,
    agreement: fid.agree ? 'yes' : 'no',
    backend: result.backend,
  };
  const ev = at.evidence ? layerEvidence(at, tokenSizes(trace.layers, trace.tokens)[at.layer]) : null;
  if (ev?.cutoff !== undefined && ev.cutoff !== null) values.cutoff = ev.cutoff.toFixed(4);
  if (ev?.r !== undefined) values.r = String(ev.r);
  if (ev?.cdf) {
    values['ats-duplicates'] = String(ev.cdf.duplicates);
    values.draws = String(ev.cdf.ys.length);
  }
  if (ev && ev.edges.length) values.edges = String(ev.edges.filter((e) => e.direction !== 2).length);
  if (ev?.protectedRows) values.protected = String(ev.protectedRows.length);
  if (ev?.groups?.length) {
    const largest = ev.groups.reduce((a, b) => (b.size > a.size ? b : a));
    values['largest-group'] = String(largest.size);
    values['largest-group-log'] = largest.logSizeBias.toFixed(3);
  }
  const k = ev?.constants ?? {};
  if (ev?.method === 'diffrate') {
    values['diffrate-p'] = String(k.pruneKept);
    values['diffrate-m'] = String(k.mergeKept);
  }
  if (ev?.method === 'atc') values.clusters = String(k.clusters);
  if (ev?.method === 'ppt' && !ev.idle) {
    const first = ev.tokens.find((t) => t.extra);
    values['ppt-branch'] = first?.extra?.pooled === 1 ? 'pools' : 'prunes';
    values['ppt-sop'] = Number(first?.extra?.S_op).toExponential(2);
    values['ppt-threshold'] = Number(k.threshold).toExponential(2);
  }
  if (timing) {
    values.latency = timing.medianMs.toFixed(1);
    values['latency-base'] = timing.baselineMedianMs.toFixed(1);
  }
  return values;
}

/** Splits lesson text into plain parts and `{name}` slots. */
export function splitSlots(text: string): ({ text: string } | { slot: string })[] {
  const parts: ({ text: string } | { slot: string })[] = [];
  const re = /\{([a-z0-9-]+)\}/g;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > at) parts.push({ text: text.slice(at, m.index) });
    parts.push({ slot: m[1] });
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}
