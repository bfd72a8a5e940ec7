/**
 * The compare page's side of its worker: numbered requests, a promise per reply, and listeners
 * for what arrives unasked (progress of an evaluation, the worker's tensor count).
 */
import type { CompareReply, CompareRequest, WorkerStatus } from './protocol';

/** A request before it is numbered (Omit distributed over the union). */
type Unnumbered = CompareRequest extends infer R ? (R extends CompareRequest ? Omit<R, 'runId'> : never) : never;
export type ProgressReply = Extract<CompareReply, { type: 'progress' }>;
type FinalReply = Exclude<CompareReply, { type: 'progress' } | { type: 'status' }>;

export interface CompareListeners {
  onProgress?(p: ProgressReply): void;
  onStatus?(s: WorkerStatus): void;
}

interface WorkerLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  terminate(): void;
  onmessage: ((e: MessageEvent<CompareReply>) => void) | null;
}

export class CompareClient {
  private nextId = 1;
  private readonly pending = new Map<number, (r: FinalReply | null) => void>();

  constructor(
    private readonly worker: WorkerLike,
    private readonly listeners: CompareListeners = {},
  ) {
    worker.onmessage = (e) => this.receive(e.data);
  }

  static start(listeners: CompareListeners = {}): CompareClient {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'tokenscope-compare' });
    return new CompareClient(worker as unknown as WorkerLike, listeners);
  }

  /** Sends a request; `done` resolves with its final reply (null if the worker was terminated). */
  send(req: Unnumbered, transfer: Transferable[] = []): { runId: number; done: Promise<FinalReply | null> } {
    const runId = this.nextId++;
    const done = new Promise<FinalReply | null>((resolve) => {
      if (req.type !== 'cancel' && req.type !== 'status') this.pending.set(runId, resolve);
      else resolve(null);
    });
    this.worker.postMessage({ ...req, runId }, transfer);
    return { runId, done };
  }

  cancel(target: number): void {
    this.send({ type: 'cancel', target });
  }

  requestStatus(): void {
    this.send({ type: 'status' });
  }

  private receive(reply: CompareReply): void {
    if (reply.type === 'progress') return this.listeners.onProgress?.(reply);
    if (reply.type === 'status') return this.listeners.onStatus?.(reply.status);
    const resolve = this.pending.get(reply.runId);
    if (!resolve) return;
    this.pending.delete(reply.runId);
    resolve(reply);
  }

  terminate(): void {
    this.worker.terminate();
    for (const resolve of this.pending.values()) resolve(null);
    this.pending.clear();
  }
}
