/**
 * What the why view draws for one block, as pure functions of the trace: which patches each token
 * entering the block covers (after earlier merges a token covers several), where its centre is on
 * the grid, and the evidence read in rows (reduce/evidence.ts).
 */
import type { Trace } from '../model/run';
import { layerEvidence, tokenSizes, type LayerEvidence } from '../reduce/evidence';
import type { GridGeometry, LayerView } from './fates';

export interface BlockTokens {
  /** patches[row]: the patch indices (row-major, 0-based) the token at this row covers. */
  patches: number[][];
  /** Grid centre (column, row) of each token's patches, in cell units; null for a token with none (CLS). */
  centre: ([number, number] | null)[];
}

/** The tokens entering block `layer`: the lineage after the previous block (identity before block 0). */
export function blockTokens(views: LayerView[], geo: GridGeometry, layer: number, nIn: number): BlockTokens {
  const { grid, firstPatch } = geo;
  const owner = layer === 0 ? null : views[layer - 1].owner;
  const patches: number[][] = Array.from({ length: nIn }, () => []);
  for (let p = 0; p < grid * grid; p++) {
    const row = owner ? owner[firstPatch + p] : firstPatch + p;
    if (row >= 0 && row < nIn) patches[row].push(p);
  }
  const centre = patches.map((ps): [number, number] | null => {
    if (ps.length === 0) return null;
    const sum = ps.reduce(([x, y], p) => [x + (p % grid) + 0.5, y + Math.floor(p / grid) + 0.5], [0, 0]);
    return [sum[0] / ps.length, sum[1] / ps.length];
  });
  return { patches, centre };
}

export type BlockDecision = { kind: 'none'; reason: string } | { kind: 'evidence'; evidence: LayerEvidence; tokens: BlockTokens };

/** The why view's content for one block: its evidence, or why there is none. */
export function blockDecision(trace: Trace, views: LayerView[], geo: GridGeometry, layer: number): BlockDecision {
  const l = trace.layers[layer];
  if (!l) return { kind: 'none', reason: `there is no block ${layer}` };
  if (!l.method) return { kind: 'none', reason: `block ${layer} is not in the plan: no method decided anything here` };
  const evidence = layerEvidence(l, tokenSizes(trace.layers, trace.tokens)[layer]);
  if (!evidence) return { kind: 'none', reason: `block ${layer} ran ${l.method}, but this run did not record its evidence` };
  return { kind: 'evidence', evidence, tokens: blockTokens(views, geo, layer, l.nIn) };
}

/** Blocks with more tokens than this show only the edges taken until the reader asks for all (a 14×14 grid has 197). */
export const ALL_EDGES_UP_TO = 64;

/** Whether a block's edges are all drawn by default, or only the ones taken. */
export function allEdgesByDefault(nTokens: number): boolean {
  return nTokens <= ALL_EDGES_UP_TO;
}

/** "(r,c)" of a 0-based row-major patch index. */
export function patchName(p: number, grid: number): string {
  return `(${Math.floor(p / grid)},${p % grid})`;
}

/** A token's name for the sentences: its patch, "the token over 3 patches around (2,3)", or CLS. */
export function tokenName(tokens: BlockTokens, grid: number, firstPatch: number): (row: number) => string {
  return (row) => {
    const ps = tokens.patches[row] ?? [];
    if (ps.length === 0) return row === 0 ? 'CLS' : row < firstPatch ? 'DIST' : `token ${row}`;
    if (ps.length === 1) return `patch ${patchName(ps[0], grid)}`;
    return `the token of ${ps.length} patches from ${patchName(ps[0], grid)}`;
  };
}
