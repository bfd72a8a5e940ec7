/**
 * What the token view draws, derived from a trace with pure functions: per layer, the token each
 * original token lives in, its fate, and a colour for each merged group; and per original token,
 * its lineage across layers. Built on reduce/lineage.ts (owners and fates).
 *
 * Original tokens are the model's first tokens: CLS (+ distillation token), then the patches in
 * row-major order, so patch (row, col) is token firstPatch + row · grid + col.
 */
import type { Trace } from '../model/run';
import { type Fate, tokenFates, tokenOwners } from '../reduce/lineage';
import { GROUP_COLOURS } from './palette';

/**
 * A lineage fate, plus 'sampled': alone in its token after an ATS layer chose it. 'fused' carries
 * on after EViT's layer for as long as the summary token lives.
 */
export type DisplayFate = Fate | 'sampled';

/** The state of every original token after one block. */
export interface LayerView {
  layer: number;
  method: string | null;
  nIn: number;
  nOut: number;
  /** Row of the output sequence holding each original token (-1: gone). */
  owner: number[];
  fate: DisplayFate[];
  /** Index into GROUP_COLOURS for tokens in merged groups, -1 otherwise. */
  groupColour: number[];
}

export interface GridGeometry {
  /** Patches per side. */
  grid: number;
  /** Index of the first patch among the original tokens. */
  firstPatch: number;
}

export function gridGeometry(trace: Trace, grid: number): GridGeometry {
  return { grid, firstPatch: trace.tokens - grid * grid };
}

export function layerViews(trace: Trace, geo: GridGeometry): LayerView[] {
  const owners = tokenOwners(trace);
  const fates = tokenFates(trace);
  const views: LayerView[] = [];
  let previous: DisplayFate[] = fates[0]?.map(() => 'kept') ?? [];
  let previousColours: number[] = [];
  owners.forEach((owner, l) => {
    const layer = trace.layers[l];
    const reduced = layer.target !== undefined;
    const fate: DisplayFate[] = fates[l].map((f, t) => {
      // EViT's summary token stays the summary token in later layers (lineage sees a merged group).
      if (f === 'merged' && previous[t] === 'fused') return 'fused';
      if (f !== 'kept') return f;
      if (!reduced) return previous[t] === 'sampled' ? 'sampled' : 'kept';
      return layer.method === 'ats' ? 'sampled' : 'kept';
    });
    const groupColour = colourGroups(owner, fate, geo, previousColours);
    views.push({ layer: l, method: layer.method, nIn: layer.nIn, nOut: layer.nOut, owner, fate, groupColour });
    previous = fate;
    previousColours = groupColour;
  });
  return views;
}

/**
 * Colours merged groups so that groups touching on the grid differ where the palette allows,
 * keeping a group's colour from the previous layer when its first member had one.
 */
export function colourGroups(owner: number[], fate: DisplayFate[], { grid, firstPatch }: GridGeometry, previous: number[] = []): number[] {
  const colour = owner.map(() => -1);
  const members = new Map<number, number[]>();
  owner.forEach((row, t) => {
    if (row >= 0 && fate[t] === 'merged') members.set(row, [...(members.get(row) ?? []), t]);
  });
  const groups = [...members.values()].sort((a, b) => a[0] - b[0]);
  const rowColour = new Map<number, number>();
  const used = new Array<number>(GROUP_COLOURS.length).fill(0);
  for (const group of groups) {
    const forbidden = new Set<number>();
    for (const t of group) {
      const p = t - firstPatch;
      if (p < 0) continue;
      const [r, c] = [Math.floor(p / grid), p % grid];
      const around = [
        [r - 1, c],
        [r + 1, c],
        [r, c - 1],
        [r, c + 1],
      ].filter(([y, x]) => y >= 0 && y < grid && x >= 0 && x < grid);
      for (const [y, x] of around) {
        const other = owner[firstPatch + y * grid + x];
        const taken = rowColour.get(other);
        if (other !== owner[t] && taken !== undefined) forbidden.add(taken);
      }
    }
    const wish = previous[group[0]] ?? -1;
    let pick = wish >= 0 && !forbidden.has(wish) ? wish : -1;
    if (pick < 0) {
      const free = GROUP_COLOURS.map((_, i) => i).filter((i) => !forbidden.has(i));
      const pool = free.length ? free : GROUP_COLOURS.map((_, i) => i);
      pick = pool.reduce((best, i) => (used[i] < used[best] ? i : best), pool[0]);
    }
    used[pick]++;
    rowColour.set(owner[group[0]], pick);
    for (const t of group) colour[t] = pick;
  }
  return colour;
}

export interface LineageStep {
  layer: number;
  /** Row of the token it lives in after this block (-1: gone). */
  row: number;
  fate: DisplayFate;
  /** Every original token sharing that row (itself included); empty once gone. */
  members: number[];
}

export interface Lineage {
  token: number;
  steps: LineageStep[];
  /** The block after which it no longer exists, or null. */
  droppedAt: number | null;
}

export function lineageOf(views: LayerView[], token: number): Lineage {
  const steps = views.map((v) => {
    const row = v.owner[token];
    const members = row < 0 ? [] : v.owner.flatMap((r, t) => (r === row ? [t] : []));
    return { layer: v.layer, row, fate: v.fate[token], members };
  });
  const gone = steps.find((s) => s.row < 0);
  return { token, steps, droppedAt: gone ? gone.layer : null };
}

/** Plain words for a screen reader and the lineage panel: one phrase per run of blocks alike. */
export function describeLineage(lin: Lineage, geo: GridGeometry): string {
  const p = lin.token - geo.firstPatch;
  const name = p < 0 ? 'The class token' : `Patch row ${Math.floor(p / geo.grid) + 1}, column ${(p % geo.grid) + 1}`;
  const phrase = (s: LineageStep) => {
    const others = s.members.length - 1;
    switch (s.fate) {
      case 'dropped':
        return 'dropped';
      case 'fused':
        return `fused into the summary token (with ${others} other${others === 1 ? '' : 's'})`;
      case 'merged':
        return `shares a token with ${others} other patch${others === 1 ? '' : 'es'}`;
      case 'sampled':
        return 'sampled (kept) by ATS';
      case 'kept':
        return 'its own token';
    }
  };
  const runs: { from: number; to: number; text: string }[] = [];
  for (const s of lin.steps) {
    const text = phrase(s);
    const last = runs[runs.length - 1];
    if (last && last.text === text) last.to = s.layer;
    else runs.push({ from: s.layer, to: s.layer, text });
    if (s.fate === 'dropped') break;
  }
  const parts = runs.map((r) =>
    r.text === 'dropped' ? `dropped after block ${r.from}` : `${r.from === r.to ? `block ${r.from}` : `blocks ${r.from}–${r.to}`}: ${r.text}`,
  );
  return `${name}: ${parts.join('; ')}.`;
}

/** Tokens per patch-grid cell, row-major: the original-token index of patch (r, c). */
export const patchToken = (geo: GridGeometry, r: number, c: number) => geo.firstPatch + r * geo.grid + c;
