/**
 * Export formats, as pure functions of a run: the per-layer, per-patch fate record (JSON) and the
 * tokens and FLOPs per layer (CSV). The PNG of the layer strip is drawn by views/draw-fates.ts.
 */
import type { FlopReport } from '../../measure/flops';
import { evidenceRecords, type EvidenceRecord } from '../../reduce/evidence';
import type { ModelInput } from '../image/preprocess';
import type { GridGeometry, LayerView } from '../fates';
import type { RunResult } from '../worker/protocol';

export const FATE_RECORD_FORMAT = 'tokenscope-fates';
export const FATE_RECORD_VERSION = 1;

export interface FateRecord {
  format: typeof FATE_RECORD_FORMAT;
  version: number;
  model: string;
  plan: string;
  backend: string;
  image: { name: string; preprocessing: string[] };
  /** The model's input before normalisation, [S, S, C] 8-bit, row-major: enough to rerun the plan. */
  input: { size: number; channels: number; u8: number[] };
  /** The reduced run's raw logits (the same numbers `tokenscope predict --json` prints). */
  logits: number[];
  grid: number;
  /** Original tokens: 0 = CLS (1 = distillation token if any), then patches row by row from `firstPatch`. */
  firstPatch: number;
  tokens: number;
  layers: {
    /** 0-based block; the state after it. */
    block: number;
    method: string | null;
    tokensIn: number;
    tokensOut: number;
    /** Per original token: its fate and its row in the block's output (-1 = gone). */
    fate: string[];
    row: number[];
  }[];
  /** What each reducing block decided by, per token entering it (as `tokenscope predict --evidence`). */
  evidence?: EvidenceRecord[];
}

export function fateRecord(result: RunResult, views: LayerView[], geo: GridGeometry, input: ModelInput, imageName: string): FateRecord {
  return {
    format: FATE_RECORD_FORMAT,
    version: FATE_RECORD_VERSION,
    model: result.modelName,
    plan: result.plan,
    backend: result.backend,
    image: { name: imageName, preprocessing: input.steps.filter((s) => s.ran).map((s) => s.detail) },
    input: { size: input.size, channels: input.channels, u8: Array.from(input.u8) },
    logits: [...result.logits],
    grid: geo.grid,
    firstPatch: geo.firstPatch,
    tokens: result.trace.tokens,
    layers: views.map((v) => ({ block: v.layer, method: v.method, tokensIn: v.nIn, tokensOut: v.nOut, fate: [...v.fate], row: [...v.owner] })),
    ...(result.trace.layers.some((l) => l.evidence) ? { evidence: evidenceRecords(result.trace.layers) } : {}),
  };
}

/** RFC 4180 cell: quoted when it holds a comma, quote or line break. */
export function csvCell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const CSV_COLUMNS = [
  'part',
  'method',
  'tokens_in',
  'tokens_out',
  'unreduced_tokens_in',
  'flops_qkv',
  'flops_attn_scores',
  'flops_attn_values',
  'flops_proj',
  'flops_mlp',
  'flops_layernorm',
  'flops_model',
  'flops_overhead',
  'flops_unreduced',
] as const;

/**
 * One row per block (part = block index), plus the patch embedding, the head and the total. FLOPs
 * in the fvcore convention (one multiply-add = 1), as integers; the method's own work apart.
 */
export function tokensFlopsCsv(trace: RunResult['trace'], flops: FlopReport, baselineCounts: number[], baselineFlops: FlopReport): string {
  const rows: (string | number | null)[][] = [[...CSV_COLUMNS]];
  const blank = Array<null>(6).fill(null);
  rows.push(['embed', null, null, null, null, ...blank, flops.embed, 0, baselineFlops.embed]);
  trace.layers.forEach((l, i) => {
    const b = flops.blocks[i];
    rows.push([
      i,
      l.method ?? 'none',
      l.nIn,
      l.nOut,
      baselineCounts[i],
      b.qkv,
      b.attnScores,
      b.attnValues,
      b.proj,
      b.mlp,
      b.layerNorm,
      b.model,
      b.overhead,
      baselineFlops.blocks[i].model,
    ]);
  });
  const last = trace.layers.length;
  rows.push(['head', null, trace.layers[last - 1]?.nOut ?? null, null, baselineCounts[last], ...blank, flops.head, 0, baselineFlops.head]);
  rows.push(['total', null, null, null, null, ...blank, flops.model, flops.overhead, baselineFlops.model]);
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
