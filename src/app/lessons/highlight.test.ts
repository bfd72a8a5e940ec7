/** What a step outlines, from a hand-written block of evidence. */
import { describe, expect, it } from 'vitest';
import type { EvidenceEdge, EvidenceToken, LayerEvidence } from '../../reduce/evidence';
import { tokenHighlight } from './highlight';

const token = (row: number, outcome: EvidenceToken['outcome'], score: number | null = 0.1): EvidenceToken => ({
  row,
  score,
  rank: null,
  partner: null,
  outcome,
  to: row,
});
const edge = (from: number, to: number, chosen: boolean, direction?: 1 | 2): EvidenceEdge => ({ from, to, score: 0.9, rank: 1, chosen, direction });

// Six tokens: CLS kept; 1 dropped, 2 fused, 3 kept, 4 merged into 5.
const ev: LayerEvidence = {
  layer: 2,
  method: 'mctf',
  scoreName: 'score',
  tokens: [token(0, 'kept', null), token(1, 'dropped'), token(2, 'fused'), token(3, 'kept'), token(4, 'merged'), token(5, 'merged')],
  edges: [edge(2, 3, false, 1), edge(4, 5, true, 1), edge(5, 4, true, 2), edge(3, 2, false, 2)],
  protectedRows: [3],
  groups: [{ to: 4, rows: [4, 5], size: 3, logSizeBias: Math.log(3) }],
  constants: {},
};

describe('tokenHighlight', () => {
  it('outlines the rows of each fate', () => {
    expect(tokenHighlight(ev, 'cut')!.rows).toEqual([1, 2]);
    expect(tokenHighlight(ev, 'fused')!.rows).toEqual([2]);
    expect(tokenHighlight(ev, 'removed')!.rows).toEqual([1, 2, 4, 5]);
    expect(tokenHighlight(ev, 'kept')!.rows).toEqual([3]); // CLS has no score: not the method's choice
    expect(tokenHighlight(ev, 'protected')!.rows).toEqual([3]);
    expect(tokenHighlight(ev, 'groups')!.rows).toEqual([4, 5]);
  });

  it('takes set A and the edges by direction and whether they were taken', () => {
    expect(tokenHighlight(ev, 'a-set')!.rows).toEqual([2, 4]);
    expect(tokenHighlight(ev, 'all-edges')!.edges.map((e) => [e.from, e.to])).toEqual([
      [2, 3],
      [4, 5],
    ]);
    expect(tokenHighlight(ev, 'chosen-edges')!.edges.map((e) => [e.from, e.to])).toEqual([
      [4, 5],
      [5, 4],
    ]);
    expect(tokenHighlight(ev, 'b-to-a')!.edges.map((e) => [e.from, e.to])).toEqual([[5, 4]]);
  });

  it('reads ATS draws: every picked row once, and the ones picked twice', () => {
    const ats: LayerEvidence = {
      ...ev,
      method: 'ats',
      cdf: { sortedScores: [], sortedRows: [], normalizedCdf: [], ys: [0.1, 0.4, 0.6, 1], drawRows: [3, 5, 5, -1], duplicates: 1, kept: 3 },
    };
    expect(tokenHighlight(ats, 'sampled')!.rows).toEqual([3, 5]);
    expect(tokenHighlight(ats, 'duplicates')!.rows).toEqual([5]);
    expect(tokenHighlight(ev, 'sampled')).toBeNull(); // no CDF: not an ATS block
  });
});
