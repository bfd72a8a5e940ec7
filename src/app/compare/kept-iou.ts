/**
 * Agreement between plans on which patches they keep: per block, the set of original patches that
 * still hold a token of their own, and the intersection over union of two plans' sets.
 *
 * "Kept" means alone in its token after the block: not dropped, not merged with another token and
 * not fused into EViT's summary token. Under merging methods a patch in a group of two or more is
 * not kept (its token now speaks for several); under pruning a dropped patch is not kept. The class
 * token is not a patch and never counts. Two empty sets agree fully (IoU 1). Built on
 * reduce/lineage.ts (tokenOwners, groupSizes), so it reads the same trace as every other view.
 */
import type { Trace } from '../../model/run';
import { groupSizes, tokenOwners } from '../../reduce/lineage';

/** Per block, the original token indices of the patches kept (see above); patches start at `firstPatch`. */
export function keptPatches(trace: Trace, firstPatch: number): Set<number>[] {
  return tokenOwners(trace).map((owner, l) => {
    const layer = trace.layers[l];
    const sizes = groupSizes(owner, layer.nOut);
    const kept = new Set<number>();
    for (let t = firstPatch; t < owner.length; t++) {
      const row = owner[t];
      if (row >= 0 && sizes[row] === 1 && row !== layer.fusedRow) kept.add(t);
    }
    return kept;
  });
}

/** |a ∩ b| / |a ∪ b|; 1 when both are empty. */
export function iou(a: ReadonlySet<number>, b: ReadonlySet<number>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 1 : inter / union;
}

export interface KeptAgreement {
  /** Index pairs (i < j) into the plans. */
  pairs: [number, number][];
  /** iou[l][k]: blocks × pairs. */
  iou: number[][];
  /** kept[i][l]: how many patches plan i keeps after block l. */
  kept: number[][];
}

/** IoU of every pair of plans' kept sets at every block. The traces must share the model (same depth and tokens). */
export function keptAgreement(traces: Trace[], firstPatch: number): KeptAgreement {
  const depth = traces[0]?.layers.length ?? 0;
  if (traces.some((t) => t.layers.length !== depth || t.tokens !== traces[0].tokens)) {
    throw new Error('keptAgreement needs traces of one model: the depths or token counts differ');
  }
  const sets = traces.map((t) => keptPatches(t, firstPatch));
  const pairs: [number, number][] = [];
  for (let i = 0; i < traces.length; i++) for (let j = i + 1; j < traces.length; j++) pairs.push([i, j]);
  return {
    pairs,
    iou: Array.from({ length: depth }, (_, l) => pairs.map(([i, j]) => iou(sets[i][l], sets[j][l]))),
    kept: sets.map((s) => s.map((k) => k.size)),
  };
}
