/**
 * The worker's message loop, apart from the worker global so it can be tested in Node: requests
 * are handled one at a time, in order. A run whose runId is no longer the newest when its turn
 * comes is skipped, and timing stops as soon as a newer run arrives, so the page never waits
 * behind stale work. A backend that fails to start, or fails during a run, is replaced by the next
 * one in line, and the report says so in words.
 */
import { TokenScopeError } from '../../errors';
import { BackendSelector } from '../engine/backend-selector';
import type { BackendProbe, EngineReply, EngineRequest } from './protocol';
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
  const backends = new BackendSelector({ useBackend: (name) => session.useBackend(name), probeBackends });

  async function handle(req: EngineRequest): Promise<void> {
    switch (req.type) {
      case 'set-backend':
        post({ type: 'backend-set', runId: req.runId, backend: await backends.choose(req.choice) });
        return;
      case 'load-model':
        post({ type: 'model-loaded', runId: req.runId, model: await session.loadModel(req.source) });
        return;
      case 'run': {
        if (req.runId !== latestRun) return; // superseded before it started (the page has dropped it)
        let result;
        for (;;) {
          try {
            result = await session.run(req.input, req.plan, req.record);
            break;
          } catch (e) {
            if (isUserError(e) || !backends.canFallBack) throw e;
            await backends.fallBack(session.activeBackend ?? backends.report!.active, e as Error);
          }
        }
        if (req.runId !== latestRun) return;
        post({ type: 'result', runId: req.runId, result: { ...result, backendReport: backends.report! } });
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
