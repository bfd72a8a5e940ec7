/**
 * The page's side of the engine worker: numbered requests, promises for their replies, and stale
 * replies dropped. For each request type only the newest request's reply is delivered; an older
 * one resolves to null (a new run settles older pending runs at once, since the worker skips them).
 * Timing arrives on its own, after the result, and goes to a listener only for the newest run.
 */
import type { BackendChoice } from '../state/url-fields';
import type { EngineReply, EngineRequest, ModelSource, RunInput, Timing } from './protocol';

type RequestType = EngineRequest['type'];
/** A request before it is numbered (Omit distributed over the union). */
type Unnumbered = EngineRequest extends infer R ? (R extends EngineRequest ? Omit<R, 'runId'> : never) : never;
type Pending = { type: RequestType; resolve: (r: EngineReply | null) => void };

export interface EngineListeners {
  onTiming?(timing: Timing): void;
}

export class EngineClient {
  private nextId = 1;
  private readonly newest: Record<RequestType, number> = { 'load-model': 0, 'set-backend': 0, run: 0 };
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly worker: Pick<Worker, 'postMessage' | 'terminate'> & { onmessage: ((e: MessageEvent<EngineReply>) => void) | null },
    private readonly listeners: EngineListeners = {},
  ) {
    worker.onmessage = (e) => this.receive(e.data);
  }

  /** Starts the real worker (Vite bundles it as an ES module worker). */
  static start(listeners: EngineListeners = {}): EngineClient {
    const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'tokenscope-engine' });
    return new EngineClient(worker as never, listeners);
  }

  private send(req: Unnumbered, transfer: Transferable[] = []): Promise<EngineReply | null> {
    const runId = this.nextId++;
    const full = { ...req, runId } as EngineRequest;
    this.newest[full.type] = runId;
    if (full.type === 'run') this.settleSuperseded();
    return new Promise((resolve) => {
      this.pending.set(runId, { type: full.type, resolve });
      this.worker.postMessage(full, transfer);
    });
  }

  private receive(reply: EngineReply): void {
    if (reply.type === 'timing') {
      if (reply.runId === this.newest.run) this.listeners.onTiming?.(reply.timing);
      return;
    }
    const pending = this.pending.get(reply.runId);
    if (!pending) return;
    this.pending.delete(reply.runId);
    pending.resolve(reply.runId === this.newest[pending.type] ? reply : null);
  }

  loadModel(source: ModelSource) {
    return this.send({ type: 'load-model', source }); // files are copied: a failed load must not take the page's bytes
  }

  setBackend(choice: BackendChoice) {
    return this.send({ type: 'set-backend', choice });
  }

  /** `input.pixels` is copied, not transferred: the page keeps its copy for later runs. */
  run(input: RunInput, plan: string, timing = true) {
    return this.send({ type: 'run', input, plan, timing });
  }

  /** The worker skips superseded runs without replying; their promises settle here, as null. */
  private settleSuperseded(): void {
    for (const [id, p] of this.pending) {
      if (p.type === 'run' && id !== this.newest.run) {
        this.pending.delete(id);
        p.resolve(null);
      }
    }
  }

  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.resolve(null);
    this.pending.clear();
  }
}
