/** FLOPs of a compiled plan, from token counts a forward produced or the schedule predicts. */
import type { VitConfig } from '../model/config';
import { numTokens } from '../model/config';
import type { Trace } from '../model/run';
import { type Compiled, predictTokens } from '../reduce/compile';
import { type FlopReport, type LayerTokens, countFlops, flopDims } from './flops';

/** counts: tokens entering each block, then the tokens leaving the last (length depth + 1). */
export function planFlops(config: VitConfig, compiled: Compiled, counts: number[]): FlopReport {
  const layers: LayerTokens[] = compiled.layers.map((layer, l) => {
    const nIn = counts[l];
    const nOut = counts[l + 1];
    // Every slot's formula reduces to the plain block when nothing was removed.
    return { nIn, nOut, slot: layer?.slot ?? null, overhead: layer ? layer.overheadFlops(nIn) : 0 };
  });
  return countFlops(flopDims(config), layers);
}

/** FLOPs for a fixed-schedule plan; null when a layer's count depends on the image (ATS). */
export function scheduledFlops(config: VitConfig, compiled: Compiled): { counts: number[]; report: FlopReport } | null {
  const counts = predictTokens(compiled, numTokens(config));
  return counts ? { counts, report: planFlops(config, compiled, counts) } : null;
}

/** Token counts of one traced image: entering each block, then leaving the last. */
export function traceCounts(trace: Trace): number[] {
  return [...trace.layers.map((l) => l.nIn), trace.layers[trace.layers.length - 1].nOut];
}
