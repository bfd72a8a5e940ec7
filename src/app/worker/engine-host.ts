/**
 * The worker's message loop, apart from the worker global so it can be tested in Node: requests
 * are handled one at a time, in order. A run whose runId is no longer the newest when its turn
 * comes is skipped, and timing stops as soon as a newer run arrives, so the page never waits
 * behind stale work. A backend that fails to start, or fails during a run, is replaced by the next
 * one in line, and the report says so in words.
 */
import { TokenScopeError } from '../../errors';
import type { BackendName } from '../../model/backend';
import { backendLabel, backendOrder } from './backend-choice';
import type { BackendProbe, BackendReport, EngineReply, EngineRequest } from './protocol';
import type { EngineSession } from './session';

type SessionLike = Pick<EngineSession, 'useBackend' | 'loadModel' | 'run' | 'time' | 'activeBackend'>;

export interface HostOptions {
  session: SessionLike;
  probeBackends(): Promise<BackendProbe[]>;
  post(reply: EngineReply): void;
}

const isUserError = (e: unknown) => e instanceof TokenScopeError && ['plan-invalid', 'param-out-of-range', 'shape-mismatch'].includes(e.code);

/** Returns the function that receives each request; it resolves when that request is done. */
export function createEngineHost({ session, probeBackends, post }: HostOptions): (req: EngineRequest) => Promise<void> {
  let latestRun = 0;
  let probes: BackendProbe[] | null = null;
  /** The backends still to try after the active one, in order. */
  let fallbacks: BackendName[] = [];
  let report: BackendReport | null = null;

  async function activate(choice: BackendReport['choice'], order: BackendName[], notes: string[]): Promise<BackendReport> {
    for (const [i, name] of order.entries()) {
      try {
        await session.useBackend(name);
        fallbacks = order.slice(i + 1);
        report = { choice, active: name, notes, probes: probes ?? [] };
        return report;
      } catch (e) {
        notes.push(`${backendLabel(name)} failed to start (${(e as Error).message}); trying the next backend.`);
      }
    }
    throw new TokenScopeError('backend-unavailable', `no TF.js backend could start: ${notes.join(' ')}`);
  }

  async function handle(req: EngineRequest): Promise<void> {
    switch (req.type) {
      case 'set-backend': {
        probes ??= await probeBackends();
        const { order, notes } = backendOrder(req.choice, probes);
        post({ type: 'backend-set', runId: req.runId, backend: await activate(req.choice, order, notes) });
        return;
      }
      case 'load-model':
        post({ type: 'model-loaded', runId: req.runId, model: await session.loadModel(req.source) });
        return;
      case 'run': {
        if (req.runId !== latestRun) return; // superseded before it started (the page has dropped it)
        let result;
        for (;;) {
          try {
            result = await session.run(req.input, req.plan);
            break;
          } catch (e) {
            if (isUserError(e) || fallbacks.length === 0 || !report) throw e;
            const failed = session.activeBackend ?? report.active;
            const notes = [...report.notes, `${backendLabel(failed)} failed while running the model (${(e as Error).message}); switched to the next backend.`];
            await activate(report.choice, fallbacks, notes);
          }
        }
        if (req.runId !== latestRun) return;
        post({ type: 'result', runId: req.runId, result: { ...result, backendReport: report! } });
        if (!req.timing) return;
        const timing = await session.time(req.input, req.plan, () => req.runId !== latestRun);
        if (timing) post({ type: 'timing', runId: req.runId, timing });
        return;
      }
    }
  }

  let queue: Promise<void> = Promise.resolve();
  return (req) => {
    if (req.type === 'run') latestRun = req.runId;
    queue = queue.then(() =>
      handle(req).catch((e: unknown) => {
        const err = e instanceof TokenScopeError ? e : new TokenScopeError('internal', (e as Error)?.message ?? String(e));
        post({ type: 'error', runId: req.runId, request: req.type, code: err.code, message: err.message });
      }),
    );
    return queue;
  };
}
