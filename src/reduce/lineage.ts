/**
 * Lineage from a trace, with pure functions: which token each original token (CLS, patches) lives
 * in after every layer, and what happened to it. Every view and every export derives from this.
 */
import type { LayerTrace, Trace } from '../model/run';

/** What became of one original token at one layer. */
export type Fate = 'kept' | 'merged' | 'fused' | 'dropped';

/**
 * owners[l][p]: the row, in the token sequence leaving block l, that contains original token p
 * (-1 once it has vanished). Requires a trace recorded with assignments.
 */
export function tokenOwners(trace: Trace): number[][] {
  let owner = Array.from({ length: trace.tokens }, (_, p) => p);
  const out: number[][] = [];
  for (const layer of trace.layers) {
    if (layer.target) {
      const target = layer.target;
      owner = owner.map((row) => (row < 0 ? -1 : target[row]));
    } else if (layer.nOut !== layer.nIn) {
      throw new Error(`layer ${layer.layer} changed the token count without a recorded assignment; record the trace with 'fates'`);
    }
    out.push(owner);
  }
  return out;
}

/** How many original tokens each row leaving a layer holds. */
export function groupSizes(owners: number[], nOut: number): number[] {
  const sizes = new Array<number>(nOut).fill(0);
  for (const row of owners) if (row >= 0) sizes[row]++;
  return sizes;
}

/** The fate of every original token at every layer. */
export function tokenFates(trace: Trace): Fate[][] {
  const owners = tokenOwners(trace);
  return owners.map((rows, l) => {
    const layer: LayerTrace = trace.layers[l];
    const sizes = groupSizes(rows, layer.nOut);
    return rows.map((row) => {
      if (row < 0) return 'dropped';
      if (layer.fusedRow !== undefined && row === layer.fusedRow) return 'fused';
      return sizes[row] > 1 ? 'merged' : 'kept';
    });
  });
}
