/**
 * What a lesson step outlines in the why view, read from the block's decision evidence (the same
 * LayerEvidence the view draws; nothing is decided again): a set of token rows, a set of edges, and
 * a caption that says what they are. Table rows and the CDF chart are highlighted by their views.
 */
import type { EvidenceEdge, LayerEvidence } from '../../reduce/evidence';
import type { HighlightKind } from './types';

export interface TokenHighlight {
  kind: HighlightKind;
  /** Input rows of the block to outline. */
  rows: number[];
  edges: EvidenceEdge[];
  /** What is outlined, in words. */
  label: string;
}

/** Kinds drawn on the token grid (the others belong to the FLOPs table and the CDF chart). */
export const GRID_KINDS: readonly HighlightKind[] = [
  'a-set',
  'kept',
  'cut',
  'fused',
  'removed',
  'protected',
  'sampled',
  'duplicates',
  'groups',
  'all-edges',
  'chosen-edges',
  'b-to-a',
  'cdf',
];

/** What "every edge" is for the methods whose edges are not A→B best partners. */
const ALL_EDGES: Partial<Record<string, string>> = {
  atc: 'every merge of the tree',
  gtp: 'every propagation: a leaving token to a kept graph neighbour',
};

const rowsWhere = (ev: LayerEvidence, keep: (t: LayerEvidence['tokens'][number]) => boolean) => ev.tokens.filter(keep).map((t) => t.row);

/** The rows and edges of `kind` at this block; null where the block's evidence has nothing of the kind. */
export function tokenHighlight(ev: LayerEvidence, kind: HighlightKind): TokenHighlight | null {
  const make = (rows: number[], edges: EvidenceEdge[], label: string): TokenHighlight => ({ kind, rows, edges, label });
  const firstDirection = ev.edges.filter((e) => e.direction !== 2);
  switch (kind) {
    case 'a-set':
      return firstDirection.length
        ? make(
            firstDirection.map((e) => e.from),
            [],
            'set A: every other token (the rest, and CLS, are set B or stay out)',
          )
        : null;
    case 'kept':
      return make(
        rowsWhere(ev, (t) => t.score !== null && t.outcome === 'kept'),
        [],
        'the scored tokens that stay themselves',
      );
    case 'cut':
      return make(
        rowsWhere(ev, (t) => t.outcome === 'dropped' || t.outcome === 'fused'),
        [],
        'the tokens below the cut (dropped, or fused into one)',
      );
    case 'fused':
      return make(
        rowsWhere(ev, (t) => t.outcome === 'fused'),
        [],
        'the tokens fused into the summary token',
      );
    case 'removed':
      return make(
        rowsWhere(ev, (t) => t.outcome !== 'kept'),
        [],
        'the tokens that stop being their own token here',
      );
    case 'protected':
      return ev.protectedRows ? make(ev.protectedRows, [], 'the protected tokens: never merged at this block') : null;
    case 'sampled':
    case 'duplicates':
    case 'cdf': {
      if (!ev.cdf) return null;
      const draws = new Map<number, number>();
      for (const r of ev.cdf.drawRows) if (r >= 0) draws.set(r, (draws.get(r) ?? 0) + 1);
      const rows = [...draws.entries()].filter(([, n]) => (kind === 'duplicates' ? n > 1 : true)).map(([r]) => r);
      return make(
        rows.sort((a, b) => a - b),
        [],
        kind === 'duplicates' ? 'the tokens picked by more than one draw' : 'the tokens the draws pick',
      );
    }
    case 'groups':
      return ev.groups
        ? make(
            ev.groups.flatMap((g) => g.rows).sort((a, b) => a - b),
            [],
            'the tokens that share a merged token after this block',
          )
        : null;
    case 'all-edges':
      return firstDirection.length ? make([], firstDirection, ALL_EDGES[ev.method] ?? 'every A token’s best partner in B') : null;
    case 'chosen-edges': {
      const taken = ev.edges.filter((e) => e.chosen);
      return taken.length ? make([], taken, 'the edges taken: these merges happen') : null;
    }
    case 'b-to-a': {
      const back = ev.edges.filter((e) => e.direction === 2 && e.chosen);
      return make([], back, 'the B→A edges taken in the second direction');
    }
    default:
      return null;
  }
}

/** Identifies an edge in the drawing (both directions of MCTF may join the same two rows). */
export const edgeKey = (e: EvidenceEdge) => `${e.direction ?? 1}-${e.from}-${e.to}`;
