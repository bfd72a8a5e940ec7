/**
 * The worker side of choosing a backend, for both workers' message loops: probes the browser once,
 * orders the backends (backend-choice.ts), starts the first that works, and keeps the rest in line
 * for when the active one fails later. The report says in words what happened.
 */
import { TokenScopeError } from '../../errors';
import type { BackendName } from '../../model/backend';
import { fusedKernelNotes } from '../../tokens/webgpu/kernel-status';
import type { BackendChoice } from '../state/url-fields';
import type { BackendProbe, BackendReport } from '../worker/protocol';
import { backendLabel, backendOrder } from './backend-choice';
import { currentThreadReport, type ThreadReport } from './threads';

export interface BackendSelectorOptions {
  /** Starts a backend in the session; throws when it cannot. */
  useBackend(name: BackendName): Promise<void>;
  probeBackends(): Promise<BackendProbe[]>;
  /** The CPU threads of the backend that just started (default: asks TF.js and the worker). */
  threads?(active: BackendName): ThreadReport;
  /** Fused WebGPU kernel families the device rejected, in words (default: src/tokens/webgpu/kernel-status.ts). */
  kernelNotes?(): string[];
}

export class BackendSelector {
  private probes: BackendProbe[] | null = null;
  /** The backends still to try after the active one, in order. */
  private fallbacks: BackendName[] = [];
  private current: BackendReport | null = null;

  constructor(private readonly options: BackendSelectorOptions) {}

  /** The last successful choice; null before one. */
  get report(): BackendReport | null {
    return this.current;
  }

  /** Starts the chosen backend, or the next in the order when it fails to start. */
  async choose(choice: BackendChoice): Promise<BackendReport> {
    this.probes ??= await this.options.probeBackends();
    const { order, notes } = backendOrder(choice, this.probes);
    return this.activate(choice, order, notes);
  }

  /** Whether another backend is left to replace the active one. */
  get canFallBack(): boolean {
    return this.current !== null && this.fallbacks.length > 0;
  }

  /** Replaces a backend that failed while running the model by the next one that starts. */
  async fallBack(failed: BackendName, error: Error): Promise<BackendReport> {
    if (!this.current) throw new TokenScopeError('internal', 'no backend has been chosen yet');
    const notes = [...this.current.notes, `${backendLabel(failed)} failed while running the model (${error.message}); switched to the next backend.`];
    return this.activate(this.current.choice, this.fallbacks, notes);
  }

  private async activate(choice: BackendChoice, order: BackendName[], notes: string[]): Promise<BackendReport> {
    for (const [i, name] of order.entries()) {
      try {
        await this.options.useBackend(name);
        this.fallbacks = order.slice(i + 1);
        const { threads, note } = (this.options.threads ?? currentThreadReport)(name);
        // a method whose fused WebGPU/WebGL kernels failed their check runs on the generic ops: say so
        const kernels = name === 'webgpu' || name === 'webgl' ? (this.options.kernelNotes ?? fusedKernelNotes)() : [];
        this.current = { choice, active: name, notes: [...notes, ...kernels], probes: this.probes ?? [], threads, threadsNote: note };
        return this.current;
      } catch (e) {
        notes.push(`${backendLabel(name)} failed to start (${(e as Error).message}); trying the next backend.`);
      }
    }
    throw new TokenScopeError('backend-unavailable', `no TF.js backend could start: ${notes.join(' ')}`);
  }
}
