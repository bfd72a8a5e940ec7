/**
 * GTP-ViT's forward in plain float64 loops (no TF.js), written from docs/METHODS.md#gtp, as the
 * oracle for the engine's GTP path: the graph from the embedded tokens, carried and shrunk from
 * block to block, MixedAttnMax on the (sparsified) attention, propagation into kept neighbours,
 * kept tokens in descending score order, token scales as log s on the keys.
 */
import type { VitConfig } from '../../src/model/config';
import type { NamedArrays } from '../../src/model/weights';
import { referenceAttention, referenceEmbed, referenceHead, referenceMlp, type Mat } from './reference-vit';

export interface ReferenceGtp {
  p: number;
  graph: 'spatial' | 'semantic' | 'mixed';
  alpha: number;
  neighbours: number;
  sparsity: number;
  scale: boolean;
  layers: number[];
}

export interface ReferenceGtpResult {
  logits: number[];
  /** Tokens entering each block and leaving the last. */
  counts: number[];
  /** Per GTP block: the kept patches (0-based among that block's patches) in descending score order. */
  kept: number[][];
  /** The smallest gap between adjacent kept scores, or at the cut, in any block (how robust the decisions are). */
  minGap: number;
}

/** W = D^-½ A D^-½ over the T patch tokens of x [N][D] (token 0 the class token). */
export function referenceGraph(x: Mat, graph: ReferenceGtp['graph'], neighbours: number): Mat {
  const t = x.length - 1;
  const g = Math.floor(Math.sqrt(t));
  const spatial = (i: number, j: number) => (i !== j && Math.abs(Math.floor(i / g) - Math.floor(j / g)) <= 1 && Math.abs((i % g) - (j % g)) <= 1 ? 1 : 0);
  const unit = x.slice(1).map((row) => {
    const norm = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
    return row.map((v) => v / norm);
  });
  const cosine = unit.map((a) => unit.map((b) => a.reduce((s, v, d) => s + v * b[d], 0)));
  const k = x.length - 1 - neighbours; // N counts the class token
  const semantic = cosine.map((row, i) => {
    const theta = [...row].sort((a, b) => a - b)[k - 1];
    return row.map((v, j) => (v >= theta ? 1 : 0) - (i === j ? 1 : 0));
  });
  const a = semantic.map((row, i) => row.map((v, j) => (graph === 'spatial' ? spatial(i, j) : graph === 'semantic' ? v : Math.max(v, spatial(i, j)))));
  const degree = a.map((row) => row.reduce((s, v) => s + v, 0));
  return a.map((row, i) => row.map((v, j) => v / Math.sqrt(degree[i] * degree[j])));
}

export function referenceGtpForward(config: VitConfig, w: NamedArrays, pixels: number[][][], gtp: ReferenceGtp): ReferenceGtpResult {
  let x = referenceEmbed(config, w, pixels);
  let graph = referenceGraph(x, gtp.graph, gtp.neighbours);
  let scales: number[] | null = gtp.scale ? x.map(() => 1) : null;
  const counts = [x.length];
  const keptOrders: number[][] = [];
  let minGap = Infinity;
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const on = gtp.layers.includes(l);
    const attended = referenceAttention(config, w, l, x, { logSize: scales?.map(Math.log), sparsity: on ? gtp.sparsity : 1 });
    x = attended.x;
    if (on) {
      const n = x.length;
      const t = n - 1;
      const probs = attended.probs;
      const score = Array.from({ length: t }, (_, j) => {
        const self = Math.max(...probs.map((P) => P[j + 1][j + 1]));
        const received = Math.max(...probs.map((P) => P.reduce((s, row) => s + row[j + 1], 0)));
        return self * received;
      });
      const order = score.map((_, j) => j).sort((a, b) => score[b] - score[a] || a - b);
      // the order that matters: among the kept, and at the cut (the propagated set is a set)
      for (let i = 1; i <= t - gtp.p && i < order.length; i++) minGap = Math.min(minGap, score[order[i - 1]] - score[order[i]]);
      const kept = order.slice(0, t - gtp.p);
      const prop = order.slice(t - gtp.p);
      const spread = (value: (token: number) => number[]) =>
        kept.map((k) => {
          const out = [...value(k + 1)];
          for (const q of prop) out.forEach((_, d) => (out[d] += gtp.alpha * graph[k][q] * value(q + 1)[d]));
          return out;
        });
      const before = x;
      x = [before[0], ...spread((token) => before[token])];
      if (scales) {
        const s = scales;
        scales = [s[0], ...spread((token) => [s[token]]).map((v) => v[0])];
      }
      graph = kept.map((i) => kept.map((j) => graph[i][j]));
      keptOrders.push(kept);
    }
    x = referenceMlp(config, w, l, x);
    counts.push(x.length);
  }
  return { logits: referenceHead(config, w, x), counts, kept: keptOrders, minGap };
}
