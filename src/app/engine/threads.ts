/**
 * How many threads the wasm backend computes on. TF.js runs its threaded SIMD build only where
 * SharedArrayBuffer exists, which browsers grant to cross-origin isolated pages (COOP same-origin
 * + COEP require-corp; see docs/DEPLOY.md). Elsewhere it falls back to one thread, and the page
 * says why instead of failing.
 */
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName } from '../../model/backend';

/**
 * XNNPACK's batch-1 matmuls on a ViT this small stop gaining well before 8 threads, and the page,
 * its other worker and the rest of the machine need cores too.
 */
export const MAX_WASM_THREADS = 8;

/** The thread count to ask TF.js for: the logical cores, capped; 1 when the page cannot share memory. */
export function plannedWasmThreads(hardwareConcurrency: number | undefined, canShareMemory: boolean): number {
  if (!canShareMemory) return 1;
  const cores = Number.isInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 1;
  return Math.min(cores, MAX_WASM_THREADS);
}

/** What the environment says about shared memory, in a page or a worker. */
export interface IsolationFacts {
  crossOriginIsolated: boolean | undefined;
  hasSharedArrayBuffer: boolean;
}

export function isolationFacts(scope: typeof globalThis = globalThis): IsolationFacts {
  return {
    crossOriginIsolated: (scope as { crossOriginIsolated?: boolean }).crossOriginIsolated,
    hasSharedArrayBuffer: typeof (scope as { SharedArrayBuffer?: unknown }).SharedArrayBuffer === 'function',
  };
}

export const canShareMemory = (f: IsolationFacts) => f.crossOriginIsolated === true && f.hasSharedArrayBuffer;

export interface ThreadReport {
  /** CPU threads the active backend computes on; null for the GPU backends (the GPU does the work). */
  threads: number | null;
  /** Why there is only one thread when there could be more, in words; null when nothing is amiss. */
  note: string | null;
}

/**
 * The report for the active backend. `wasmThreads` is TF.js's own count after the backend started
 * (tf.wasm.getThreadsCount()), not the number asked for.
 */
export function threadReport(active: BackendName, wasmThreads: number, facts: IsolationFacts, hardwareConcurrency: number | undefined): ThreadReport {
  if (active === 'webgpu' || active === 'webgl') return { threads: null, note: null };
  if (active === 'cpu') return { threads: 1, note: null };
  if (wasmThreads > 1 || (hardwareConcurrency ?? 1) <= 1) return { threads: wasmThreads, note: null };
  if (!facts.hasSharedArrayBuffer || facts.crossOriginIsolated !== true) {
    const why = !facts.hasSharedArrayBuffer ? 'this browser offers no SharedArrayBuffer here' : 'the page is not cross-origin isolated';
    return {
      threads: wasmThreads,
      note: `WASM runs on one thread: ${why}, so the ${hardwareConcurrency} cores cannot share memory. The site needs COOP/COEP headers or its service worker (docs/DEPLOY.md).`,
    };
  }
  return { threads: wasmThreads, note: 'WASM runs on one thread: the browser is cross-origin isolated but its threaded WebAssembly build did not start.' };
}

let reportedCores: number | undefined;

/** navigator.hardwareConcurrency as the browser gave it (before `unhalveTfjsCores` changed it here). */
export const logicalCores = (): number | undefined => reportedCores ?? globalThis.navigator?.hardwareConcurrency;

/**
 * TF.js 4.22's native side caps its thread pool at navigator.hardwareConcurrency / 2, assuming
 * two hyper-threads per core, so on a 2-core machine it never starts a second thread whatever
 * setThreadsCount asks. It reads the count once, when the wasm backend starts, in the thread that
 * starts it; showing that thread twice the count makes the cap the real number of logical cores,
 * and setThreadsCount decides. Call before the backend starts, in the engine's thread only.
 */
export function unhalveTfjsCores(nav: Navigator | undefined = globalThis.navigator): void {
  if (reportedCores !== undefined || !nav || !(nav.hardwareConcurrency > 0)) return;
  reportedCores = nav.hardwareConcurrency;
  Object.defineProperty(nav, 'hardwareConcurrency', { value: reportedCores * 2, configurable: true });
}

/** The report for the backend that just started, read from TF.js and this worker's globals. */
export function currentThreadReport(active: BackendName): ThreadReport {
  let wasmThreads = 1;
  if (active === 'wasm') {
    try {
      wasmThreads = getThreadsCount();
    } catch {
      wasmThreads = 1; // the backend reports no count before it has started
    }
  }
  return threadReport(active, wasmThreads, isolationFacts(), logicalCores());
}
