/**
 * Each method's recorded evidence (tokens/evidence.ts) read in the method's own terms, per token in
 * input-row order: the main score, its rank, the partner, what became of the token, and the edges,
 * cut-off, protected set or CDF the decision rests on. Pure functions of one layer of a trace, so
 * the why view, `predict --evidence` and the exports show the same numbers. Nothing here decides
 * again: orders and partners are the recorded ones; indices are only translated into rows.
 */
import type { LayerTrace } from '../model/run';
import type { Evidence, EvidenceValue } from '../tokens/evidence';

/** What became of an input token at this block (from the layer's assignment). */
export type Outcome = 'kept' | 'merged' | 'fused' | 'dropped';

export interface EvidenceToken {
  /** The token's row entering the block. */
  row: number;
  /** The method's main score (see `LayerEvidence.scoreName`); null for a token the method does not score. */
  score: number | null;
  /** 1 = the score that wins first (highest; for ATS the most significant); null without a score. */
  rank: number | null;
  /** The row it merges into or is matched with (best partner), if any. */
  partner: number | null;
  outcome: Outcome;
  /** The row it goes to leaving the block (−1: dropped). */
  to: number;
  /** Method-specific numbers (MCTF's criteria, ATS's CDF value, …). */
  extra?: Record<string, number | null>;
}

export interface EvidenceEdge {
  from: number;
  to: number;
  score: number;
  /** 1-based rank among the edges of its direction. */
  rank: number;
  /** Taken by the decision (merged). */
  chosen: boolean;
  /** MCTF: 1 = A→B, 2 = B→A. */
  direction?: 1 | 2;
}

/** ATS's inverse-transform sampling, in rows. */
export interface CdfEvidence {
  /** Ascending significance and the row of each. */
  sortedScores: number[];
  sortedRows: number[];
  normalizedCdf: number[];
  /** The evenly spaced draws and the row each lands on (−1: on the zero padding, no token). */
  ys: number[];
  drawRows: number[];
  /** Draws that landed on a token another draw already picked. */
  duplicates: number;
  /** Tokens kept, CLS included. */
  kept: number;
}

export interface LayerEvidence {
  layer: number;
  method: string;
  /** Why nothing was decided here, when nothing was. */
  idle?: string;
  /** What `score` means for this method, in words. */
  scoreName: string;
  tokens: EvidenceToken[];
  edges: EvidenceEdge[];
  /** EViT/top-k: the k-th largest CLS attention (the last kept). */
  cutoff?: number | null;
  /** Merges per image at this block (ToMe, PiToMe, MCTF). */
  r?: number;
  /** PiToMe 'protect' mode: rows never merged at this block. */
  protectedRows?: number[];
  cdf?: CdfEvidence;
  /**
   * Merging methods: every output row holding more than one input token, with the original
   * patches it stands for and the log-size bias proportional attention then adds to its logits.
   */
  groups?: MergedGroup[];
  constants: Record<string, number | string | boolean>;
}

export interface MergedGroup {
  to: number;
  rows: number[];
  size: number;
  logSizeBias: number;
}

/** How many original tokens each token entering every block stands for (sizes[l][row]), from the trace's assignments. */
export function tokenSizes(layers: LayerTrace[], tokens: number): number[][] {
  let size = new Array<number>(tokens).fill(1);
  return layers.map((layer) => {
    const entering = size;
    if (layer.target) {
      const next = new Array<number>(layer.nOut).fill(0);
      layer.target.forEach((t, n) => t >= 0 && (next[t] += entering[n]));
      size = next;
    }
    return entering;
  });
}

function mergedGroups(layer: LayerTrace, sizeIn: number[]): MergedGroup[] {
  const byRow = new Map<number, number[]>();
  (layer.target ?? []).forEach((t, n) => t >= 0 && byRow.set(t, [...(byRow.get(t) ?? []), n]));
  return [...byRow.entries()]
    .filter(([, rows]) => rows.length > 1)
    .map(([to, rows]) => {
      const size = rows.reduce((s, n) => s + (sizeIn[n] ?? 1), 0);
      return { to, rows, size, logSizeBias: Math.log(size) };
    })
    .sort((a, b) => a.to - b.to);
}

const SCORE_NAMES: Record<string, string> = {
  evit: 'CLS attention (mean over heads)',
  topk: 'CLS attention (mean over heads)',
  tome: 'best-match cosine (head-mean keys)',
  pitome: 'energy',
  ats: 'significance',
  mctf: 'combined MCTF score of the best match',
  diffrate: 'CLS attention (mean over heads)',
  atc: 'merge height (1 − cosine of head-mean keys)',
  ppt: 'significance (CLS attention × value norm, normalised)',
  gtp: 'MixedAttnMax (max-head self-attention × max-head attention received)',
};

const list = (v: EvidenceValue | undefined): number[] => (Array.isArray(v) ? (v as number[]) : []);
const finite = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v);

function outcomes(layer: LayerTrace): { outcome: Outcome[]; to: number[] } {
  const target = layer.target ?? Array.from({ length: layer.nIn }, (_, i) => i);
  const counts = new Map<number, number>();
  for (const t of target) counts.set(t, (counts.get(t) ?? 0) + 1);
  const outcome = target.map((t): Outcome => {
    if (t < 0) return 'dropped';
    if (layer.fusedRow !== undefined && t === layer.fusedRow) return 'fused';
    return (counts.get(t) ?? 0) > 1 ? 'merged' : 'kept';
  });
  return { outcome, to: target };
}

/** rank[k] = 1 + position of k in `order`. */
function ranksOf(order: number[], size: number): (number | null)[] {
  const rank = new Array<number | null>(size).fill(null);
  order.forEach((k, pos) => {
    if (k >= 0 && k < size) rank[k] = pos + 1;
  });
  return rank;
}

/**
 * The layer's evidence in rows, or null when the layer recorded none (no method, or record level
 * below 'evidence'). `sizeIn` (`tokenSizes`) adds the merged groups' sizes and log-size bias.
 */
export function layerEvidence(layer: LayerTrace, sizeIn?: number[]): LayerEvidence | null {
  const read = readLayer(layer);
  if (read && sizeIn && !read.idle && ['tome', 'pitome', 'mctf'].includes(read.method)) read.groups = mergedGroups(layer, sizeIn);
  return read;
}

function readLayer(layer: LayerTrace): LayerEvidence | null {
  const e = layer.evidence;
  if (!e) return null;
  const base = { layer: layer.layer, method: e.method, scoreName: SCORE_NAMES[e.method] ?? 'score', constants: e.constants };
  const { outcome, to } = outcomes(layer);
  const blank = (row: number): EvidenceToken => ({ row, score: null, rank: null, partner: null, outcome: outcome[row], to: to[row] });
  const tokens = Array.from({ length: layer.nIn }, (_, row) => blank(row));
  if (typeof e.constants.idle === 'string') return { ...base, idle: e.constants.idle, tokens, edges: [] };
  switch (e.method) {
    case 'evit':
    case 'topk':
      return { ...base, ...clsAttention(e, tokens) };
    case 'tome':
      return { ...base, ...bipartite(e, tokens, { first: 0, aRow: (i) => 2 * i, bRow: (j) => 2 * j + 1, r: Number(e.constants.r) }) };
    case 'pitome':
      return { ...base, ...pitome(e, tokens) };
    case 'ats':
      return { ...base, ...ats(e, tokens) };
    case 'mctf':
      return { ...base, ...mctf(e, tokens) };
    case 'diffrate':
      return { ...base, ...diffrateBands(e, tokens) };
    case 'atc':
      return { ...base, ...atcTree(e, tokens) };
    case 'ppt':
      return { ...base, ...pptChoice(e, tokens) };
    case 'gtp':
      return { ...base, ...gtpPropagation(e, tokens) };
    default:
      return { ...base, tokens, edges: [] };
  }
}

type Read = Pick<LayerEvidence, 'tokens' | 'edges' | 'cutoff' | 'r' | 'protectedRows' | 'cdf'>;

function clsAttention(e: Evidence, tokens: EvidenceToken[]): Read {
  const p = Number(e.constants.protectedCount);
  const scores = list(e.fields.clsAttnMean);
  const kept = list(e.fields.keptIdx);
  // every scored token ranked as tf.topk ranks (descending, lower index first on ties); the kept ones are its first `left`
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const rank = ranksOf(order, scores.length);
  scores.forEach((s, i) => Object.assign(tokens[i + p], { score: s, rank: rank[i] }));
  return { tokens, edges: [], cutoff: kept.length > 0 ? scores[kept[kept.length - 1]] : null };
}

/**
 * DiffRate's bands: every non-class token ranked by CLS attention (the recorded order); the first
 * min(N, P) survive pruning, of those the first M are destinations and the rest merge along their
 * best-cosine edge (all of them taken).
 */
function diffrateBands(e: Evidence, tokens: EvidenceToken[]): Read {
  const scores = list(e.fields.clsAttnMean);
  const order = list(e.fields.order); // token at each sorted position, CLS first
  const dst = list(e.fields.dstIdx);
  const best = list(e.fields.nodeMax);
  const m = Number(e.constants.mergeKept);
  scores.forEach((s, i) => (tokens[i + 1].score = s));
  order.forEach((row, pos) => {
    if (pos > 0 && tokens[row]) tokens[row].rank = pos;
  });
  const edges: EvidenceEdge[] = dst.map((d, s) => {
    const from = order[m + s];
    tokens[from].partner = order[d];
    return { from, to: order[d], score: best[s], rank: 0, chosen: true };
  });
  edges.sort((a, b) => b.score - a.score).forEach((edge, i) => (edge.rank = i + 1));
  return { tokens, edges, cutoff: Number(e.constants.nPruned) < order.length ? (scores[order[Number(e.constants.nPruned) - 1] - 1] ?? null) : null };
}

/**
 * ATC's merge tree as edges: merge i joins the subtrees of its two children, drawn between their
 * lowest rows, with its height as the score; the first T − k merges are the ones the cut keeps.
 */
function atcTree(e: Evidence, tokens: EvidenceToken[]): Read {
  const pairs = (e.fields.children ?? []) as number[][];
  const heights = list(e.fields.mergeDistances);
  const t = Number(e.constants.leaves);
  const p = Number(e.constants.protectedCount);
  const taken = t - Number(e.constants.clusters);
  const lowest: number[] = Array.from({ length: t }, (_, i) => i + p); // node id -> lowest row under it
  const edges: EvidenceEdge[] = pairs.map(([a, b], i) => {
    // a token's score: the height at which it first joins another (each leaf is a child exactly once)
    for (const leaf of [a, b]) if (leaf < t) Object.assign(tokens[leaf + p], { score: heights[i] });
    lowest[t + i] = Math.min(lowest[a], lowest[b]);
    return { from: Math.max(lowest[a], lowest[b]), to: Math.min(lowest[a], lowest[b]), score: heights[i], rank: i + 1, chosen: i < taken };
  });
  const scored = tokens.filter((x) => x.score !== null).sort((x, y) => x.score! - y.score! || x.row - y.row);
  scored.forEach((x, i) => (x.rank = i + 1));
  return { tokens, edges, r: taken };
}

/** PPT: every non-class token's significance and rank; the image's S_op and branch are in `extra` of each token. */
function pptChoice(e: Evidence, tokens: EvidenceToken[]): Read {
  const scores = list(e.fields.scores).slice(1);
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const rank = ranksOf(order, scores.length);
  const sOp = Number(e.fields.sOp);
  const pooled = e.fields.pooled === undefined ? null : Number(e.fields.pooled);
  scores.forEach((s, i) => Object.assign(tokens[i + 1], { score: s, rank: rank[i], extra: { S_op: sOp, pooled } }));
  return { tokens, edges: [], r: Number(e.constants.r) };
}

/**
 * GTP: every patch token's MixedAttnMax and its rank in the recorded descending order; the first
 * `kept` stay, the rest are propagated. An edge per non-zero graph weight from a propagated token
 * to a kept one, scored alpha · W[kept, propagated] (what the kept token receives of it), all taken.
 */
function gtpPropagation(e: Evidence, tokens: EvidenceToken[]): Read {
  const scores = list(e.fields.scores);
  const order = list(e.fields.order);
  const kept = Number(e.constants.kept);
  const alpha = Number(e.constants.alpha);
  const wKp = (e.fields.wKp ?? []) as number[][]; // [kept][propagated]
  scores.forEach((s, i) => (tokens[i + 1].score = s));
  order.forEach((patch, pos) => (tokens[patch + 1].rank = pos + 1));
  const edges: EvidenceEdge[] = [];
  order.slice(kept).forEach((patch, j) => {
    order.slice(0, kept).forEach((to, i) => {
      const w = wKp[i]?.[j] ?? 0;
      if (w !== 0) edges.push({ from: patch + 1, to: to + 1, score: alpha * w, rank: 0, chosen: true });
    });
  });
  edges.sort((a, b) => b.score - a.score || a.from - b.from || a.to - b.to).forEach((edge, i) => (edge.rank = i + 1));
  for (const t of tokens) {
    const out = edges.filter((x) => x.from === t.row);
    if (out.length > 0) t.partner = out[0].to; // its strongest kept neighbour
    if (t.score !== null) t.extra = { sent: out.reduce((a, x) => a + x.score, 0), received: edges.filter((x) => x.to === t.row).reduce((a, x) => a + x.score, 0) };
  }
  return { tokens, edges, r: order.length - kept };
}

interface Sides {
  /** A position, B position → input row. */
  aRow: (i: number) => number;
  bRow: (j: number) => number;
  first: number;
  r: number;
}

/** ToMe's (and PiToMe 'bsm''s) A→B edges: each A token's best B, ranked by score, the first r taken. */
function bipartite(e: Evidence, tokens: EvidenceToken[], { aRow, bRow, r }: Sides): Read {
  const best = list(e.fields.bestScore);
  const partner = list(e.fields.bestPartner);
  const rank = ranksOf(list(e.fields.edgeOrder), best.length);
  const edges: EvidenceEdge[] = [];
  best.forEach((s, i) => {
    const score = finite(s);
    const from = aRow(i);
    const t = tokens[from];
    if (score === null) return; // CLS: never a source
    t.score = score;
    t.rank = rank[i];
    t.partner = bRow(partner[i]);
    edges.push({ from, to: t.partner, score, rank: rank[i] ?? 0, chosen: (rank[i] ?? Infinity) <= r });
  });
  return { tokens, edges: edges.sort((a, b) => a.rank - b.rank), r };
}

function pitome(e: Evidence, tokens: EvidenceToken[]): Read {
  const off = Number(e.constants.offset);
  const r = Number(e.constants.r);
  const energy = list(e.fields.energy);
  const rank = ranksOf(list(e.fields.order), energy.length);
  energy.forEach((s, i) => Object.assign(tokens[i + off], { score: s, rank: rank[i] }));
  const a = list(e.fields.aIdx);
  const b = list(e.fields.bIdx);
  const row = (token: number) => token + off;
  const scored = tokens.map((t) => ({ score: t.score, rank: t.rank }));
  if (e.constants.mode === 'bsm') {
    // the bipartite step runs on the energy order; the token's score stays its energy
    const read = bipartite(e, tokens, { first: off, aRow: (i) => row(a[i]), bRow: (j) => row(b[j]), r });
    read.tokens.forEach((t, i) => Object.assign(t, scored[i], { extra: { matchScore: read.edges.find((x) => x.from === i)?.score ?? null } }));
    return read;
  }
  const dst = list(e.fields.dstIdx);
  // every A token (the even energy ranks below 2r) merges into its most similar B token; the edge carries the source's energy and rank among the sources
  const edges: EvidenceEdge[] = a.map((token, i) => ({ from: row(token), to: row(b[dst[i]]), score: energy[token], rank: i + 1, chosen: true }));
  edges.forEach((x) => (tokens[x.from].partner = x.to));
  return { tokens, edges, r, protectedRows: list(e.fields.protectedIdx).map(row) };
}

function ats(e: Evidence, tokens: EvidenceToken[]): Read {
  const significance = list(e.fields.significance);
  const sortedIdx = list(e.fields.sortedIndices);
  const t = significance.length;
  // rank 1 = most significant: the last of the ascending order
  sortedIdx.forEach((i, pos) => Object.assign(tokens[i + 1], { score: significance[i], rank: t - pos }));
  const picks = list(e.fields.picks);
  const drawRows = picks.map((k) => (k >= 0 && k < t ? sortedIdx[k] + 1 : -1));
  const picked = new Set(drawRows.filter((r) => r >= 0));
  const ncdf = list(e.fields.normalizedCdf);
  sortedIdx.forEach((i, pos) => (tokens[i + 1].extra = { cdf: ncdf[pos], draws: drawRows.filter((r) => r === i + 1).length }));
  const kept = list(e.fields.keptTokens).filter((k) => k >= 0).length;
  return {
    tokens,
    edges: [],
    cdf: {
      sortedScores: list(e.fields.sortedScores),
      sortedRows: sortedIdx.map((i) => i + 1),
      normalizedCdf: ncdf,
      ys: list(e.fields.ys),
      drawRows,
      duplicates: drawRows.filter((r) => r >= 0).length - picked.size,
      kept,
    },
  };
}

function mctf(e: Evidence, tokens: EvidenceToken[]): Read {
  const r1 = Number(e.constants.r1);
  const r2 = Number(e.constants.r2);
  const aRow = (i: number) => 2 * i;
  const bRow = (j: number) => 2 * j + 1;
  const read = bipartite(e, tokens, { first: 0, aRow, bRow, r: r1 });
  read.edges.forEach((x) => (x.direction = 1));
  const perToken = ['info', 'sizeCriterion', 'received'].filter((k) => e.fields[k] !== undefined);
  const similarity = list(e.fields.bestSimilarity);
  tokens.forEach((t, row) => {
    t.extra = Object.fromEntries(perToken.map((k) => [k, list(e.fields[k])[row] ?? null]));
    if (row % 2 === 0 && similarity.length > 0) t.extra.similarity = finite(similarity[row / 2]);
  });
  const best2 = list(e.fields.bestScore2);
  if (best2.length > 0) {
    const unm = list(e.fields.unmIdx);
    const partner2 = list(e.fields.bestPartner2);
    const rank2 = ranksOf([...list(e.fields.srcIdx2), ...list(e.fields.unmIdx2)], best2.length);
    best2.forEach((s, j) => {
      const score = finite(s);
      if (score === null) return;
      const t = tokens[bRow(j)];
      Object.assign(t, { score, rank: rank2[j], partner: aRow(unm[partner2[j]]) });
      read.edges.push({ from: t.row, to: t.partner!, score, rank: rank2[j] ?? 0, chosen: (rank2[j] ?? Infinity) <= r2, direction: 2 });
    });
  }
  return { ...read, r: Number(e.constants.r) };
}

/** "(row, col)" of a patch row on a g×g grid with `first` leading non-patch rows; "CLS"/"DIST" before them. */
export function rowName(row: number, grid: number, first: number): string {
  if (row < first) return row === 0 ? 'CLS' : 'DIST';
  const p = row - first;
  return `(${Math.floor(p / grid)},${p % grid})`;
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

const fmt = (v: number) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(2));

/**
 * One plain sentence about one token with this image's numbers, e.g. "(4,5) merged into (4,6):
 * cosine 0.930, the 3rd best of 24 edges; r = 5 merges per block here". `name` names a row.
 */
export function evidenceSentence(ev: LayerEvidence, row: number, name: (row: number) => string): string {
  const t = ev.tokens[row];
  if (!t) return '';
  const who = name(row);
  if (ev.idle) return `Nothing was decided at block ${ev.layer}: ${ev.idle}.`;
  const scored = ev.tokens.filter((x) => x.score !== null).length;
  switch (ev.method) {
    case 'evit':
    case 'topk': {
      if (t.score === null) return `${who} is never scored: ${ev.method === 'evit' ? 'EViT' : 'top-k'} keeps it always.`;
      const verb = t.outcome === 'kept' ? 'kept' : t.outcome === 'fused' ? 'fused into the summary token' : 'dropped';
      const side = t.outcome === 'kept' ? 'at or above' : 'below';
      return `${who} ${verb}: CLS attention ${fmt(t.score)}, ${ordinal(t.rank!)} of ${scored}, ${side} the cut-off ${fmt(ev.cutoff ?? NaN)}.`;
    }
    case 'tome':
    case 'mctf':
    case 'pitome': {
      // PiToMe's 'bsm' layers match by cosine; its 'protect' layers merge every A token, and their edges carry the source's energy
      const measure = ev.method === 'mctf' ? 'score' : ev.method === 'pitome' && ev.constants.mode === 'protect' ? 'energy' : 'cosine';
      const edge = ev.edges.find((x) => x.from === row);
      const into = ev.edges.find((x) => x.to === row && x.chosen);
      if (edge?.chosen) {
        const of = ev.edges.filter((x) => x.direction === edge.direction).length;
        return `${who} merged into ${name(edge.to)}: ${measure} ${fmt(edge.score)}, the ${ordinal(edge.rank)} best of ${of} edges; r = ${ev.r} merges per block here.`;
      }
      if (ev.protectedRows?.includes(row))
        return `${who} is protected: energy ${fmt(t.score ?? NaN)} ranks ${ordinal(t.rank ?? 0)} of ${scored}, outside the ${2 * (ev.r ?? 0)} most redundant tokens that may merge.`;
      if (into) return `${who} absorbs ${name(into.from)} (${measure} ${fmt(into.score)}); r = ${ev.r} merges per block here.`;
      if (edge) return `${who} stays: its best match ${name(edge.to)} (${measure} ${fmt(edge.score)}) ranks ${ordinal(edge.rank)}, after the ${ev.r} edges taken.`;
      if (t.score !== null && ev.method === 'pitome') return `${who} stays: energy ${fmt(t.score)}, ${ordinal(t.rank!)} of ${scored}.`;
      return row === 0 ? `${who} never merges.` : `${who} is on the B side: it can receive merges but has no score of its own.`;
    }
    case 'ats': {
      if (t.score === null) return `${who} is always kept (it is the class token).`;
      const draws = Number(t.extra?.draws ?? 0);
      const fate = draws > 0 ? `picked by ${draws} of ${ev.cdf?.ys.length} draws` : 'picked by no draw: dropped';
      return `${who}: significance ${fmt(t.score)}, ${ordinal(t.rank!)} of ${scored}; ${fate}. ${ev.cdf?.kept} tokens kept on this image.`;
    }
    case 'ppt': {
      if (t.score === null) return `${who} is never removed: PPT gives the class token the score 2.`;
      const sOp = Number(t.extra?.S_op);
      const branch = t.extra?.pooled === 1 ? `pooled (S_op ${fmt(sOp)} < τ ${ev.constants.threshold})` : `pruned (S_op ${fmt(sOp)} ≥ τ ${ev.constants.threshold})`;
      return `${who}: significance ${fmt(t.score)}, ${ordinal(t.rank!)} of ${scored}; this image is ${branch}, ${ev.r} tokens go: ${t.outcome}.`;
    }
    case 'atc': {
      if (row === 0) return `${who} stays alone in row 0: ATC clusters only the ${ev.tokens.length - 1} patch tokens, into ${ev.constants.clusters}.`;
      const clusters = Number(ev.constants.clusters);
      const members = ev.tokens.filter((x) => x.to === t.to).length;
      return `${who} goes to cluster row ${t.to} of ${clusters + 1}, with ${members - 1} other token${members === 2 ? '' : 's'}; it first joins another at height ${fmt(t.score ?? NaN)} (${ev.constants.linkage} linkage; the cut keeps the ${ev.r} lowest of ${ev.edges.length} merges).`;
    }
    case 'gtp': {
      if (t.score === null) return `${who} is never scored nor propagated: GTP's graph spans the patch tokens only.`;
      const head = `${who}: MixedAttnMax ${fmt(t.score)}, ${ordinal(t.rank!)} of ${scored}`;
      const alpha = ev.constants.alpha;
      if (t.outcome === 'dropped') {
        const out = ev.edges.filter((x) => x.from === row);
        if (out.length === 0) return `${head}: among the ${ev.r} lowest, propagated, but none of its graph neighbours was kept, so it is lost.`;
        const shares = out
          .slice(0, 4)
          .map((x) => `${name(x.to)} (${fmt(x.score)})`)
          .join(', ');
        return `${head}: among the ${ev.r} lowest, propagated to ${out.length} kept neighbour${out.length > 1 ? 's' : ''} — ${shares}${out.length > 4 ? ', …' : ''}: each adds alpha ${alpha} × its graph weight of this token's features.`;
      }
      const into = ev.edges.filter((x) => x.to === row);
      if (into.length === 0) return `${head}: kept, unchanged (no propagated graph neighbour); it leaves at row ${t.to}, in descending score order.`;
      const from = into
        .slice(0, 4)
        .map((x) => `${name(x.from)} (${fmt(x.score)})`)
        .join(', ');
      return `${head}: kept at row ${t.to} (descending score order), receiving ${into.length} propagated token${into.length > 1 ? 's' : ''}: ${from}${into.length > 4 ? ', …' : ''}.`;
    }
    case 'diffrate': {
      if (t.score === null) return `${who} is never scored: DiffRate keeps the class token first.`;
      const head = `${who}: CLS attention ${fmt(t.score)}, ${ordinal(t.rank!)} of ${scored}`;
      const { pruneKept, mergeKept, nPruned } = ev.constants as Record<string, number>;
      if (t.outcome === 'dropped') return `${head}: pruned (only the first ${nPruned} tokens survive P = ${pruneKept}).`;
      const edge = ev.edges.find((x) => x.from === row);
      if (edge) return `${head}: beyond the ${mergeKept} kept, merged into ${name(edge.to)} (cosine ${fmt(edge.score)}).`;
      const into = ev.edges.filter((x) => x.to === row).length;
      return `${head}: kept${into > 0 ? `, absorbing ${into} token${into > 1 ? 's' : ''}` : ''}.`;
    }
    default:
      return `${who}: ${t.outcome}.`;
  }
}

/** One block's evidence as `predict --evidence` and the page's fate export write it. */
export interface EvidenceRecord {
  layer: number;
  method: string;
  score: string;
  idle?: string;
  r?: number;
  cutoff?: number | null;
  protected_rows?: number[];
  tokens: ({ row: number; score: number | null; rank: number | null; partner: number | null; outcome: Outcome; to: number } & Record<
    string,
    number | string | null
  >)[];
  edges: EvidenceEdge[];
  cdf?: CdfEvidence;
  groups?: MergedGroup[];
}

/** Every block's evidence of one image's trace (blocks without a method are left out). */
export function evidenceRecords(layers: LayerTrace[]): EvidenceRecord[] {
  const sizes = layers.length ? tokenSizes(layers, layers[0].nIn) : [];
  return layers.flatMap((layer, l) => {
    const ev = layerEvidence(layer, sizes[l]);
    if (!ev) return [];
    const record: EvidenceRecord = {
      layer: ev.layer,
      method: ev.method,
      score: ev.scoreName,
      tokens: ev.tokens.map(({ extra, ...t }) => ({ ...t, ...(extra ?? {}) })),
      edges: ev.edges,
    };
    if (ev.idle) record.idle = ev.idle;
    if (ev.r !== undefined) record.r = ev.r;
    if (ev.cutoff !== undefined) record.cutoff = ev.cutoff;
    if (ev.protectedRows) record.protected_rows = ev.protectedRows;
    if (ev.cdf) record.cdf = ev.cdf;
    if (ev.groups) record.groups = ev.groups;
    return [record];
  });
}
