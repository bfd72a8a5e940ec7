/**
 * The compare worker's message loop, apart from the worker global so it can be tested in Node.
 *
 * Model, backend and evaluation requests (sweep, budget) run one at a time, in order. Trace
 * requests (the side-by-side view) do not wait behind a long sweep: they run as soon as they
 * arrive, interleaving with it between batches. 'cancel' aborts the named evaluation (queued or
 * running); 'status' answers at once. After every evaluation — finished, failed or cancelled —
 * the host posts a status with tf.memory()'s tensor count.
 */
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../../errors';
import type { BackendName } from '../../model/backend';
import { gpuMemory } from '../../model/gpu-memory';
import { BackendSelector } from '../engine/backend-selector';
import type { BackendProbe } from '../worker/protocol';
import type { CompareReply, CompareRequest, WorkerStatus } from './protocol';
import { type CompareSession, isCancelled } from './session';

type SessionLike = Pick<CompareSession, 'useBackend' | 'loadModel' | 'sweep' | 'equalBudget' | 'traces' | 'activeBackend'>;

export interface CompareHostOptions {
  session: SessionLike;
  probeBackends(): Promise<BackendProbe[]>;
  post(reply: CompareReply): void;
}

export function createCompareHost({ session, probeBackends, post }: CompareHostOptions): (req: CompareRequest) => Promise<void> {
  const backends = new BackendSelector({ useBackend: (name) => session.useBackend(name), probeBackends });
  const controllers = new Map<number, AbortController>();

  const status = (): WorkerStatus => {
    const m = tf.memory();
    const gpu = gpuMemory();
    return {
      tensors: m.numTensors,
      bytes: m.numBytes,
      backend: tf.getBackend() as BackendName,
      gpuMemory: gpu && { heldBytes: gpu.heldBytes, inUseBytes: gpu.inUseBytes },
      busy: controllers.size,
    };
  };

  async function evaluate(req: Extract<CompareRequest, { type: 'sweep' | 'budget' }>): Promise<void> {
    const controller = controllers.get(req.runId)!;
    try {
      if (controller.signal.aborted) throw new TokenScopeError('cancelled', 'cancelled before it started');
      const opts = {
        signal: controller.signal,
        onProgress: (p: { phase: string; done: number; total: number; plans: number; elapsedMs: number }) => post({ type: 'progress', runId: req.runId, ...p }),
      };
      const result = req.type === 'sweep' ? await session.sweep(req.methods, req.data, opts) : await session.equalBudget(req.methods, req.data, req.budget, opts);
      post({ type: 'result', runId: req.runId, result });
    } catch (e) {
      if (isCancelled(e)) post({ type: 'cancelled', runId: req.runId });
      else throw e;
    } finally {
      controllers.delete(req.runId);
      post({ type: 'status', runId: req.runId, status: status() });
    }
  }

  async function handle(req: CompareRequest): Promise<void> {
    switch (req.type) {
      case 'set-backend':
        post({ type: 'backend-set', runId: req.runId, backend: await backends.choose(req.choice) });
        return;
      case 'load-model': {
        const { info, hash } = await session.loadModel(req.source);
        post({ type: 'model-loaded', runId: req.runId, model: info, hash });
        post({ type: 'status', runId: req.runId, status: status() });
        return;
      }
      case 'sweep':
      case 'budget':
        return evaluate(req);
      case 'traces': {
        const { runs, baselineLogits } = await session.traces(req.input, req.plans);
        post({
          type: 'traces',
          runId: req.runId,
          inputKey: req.input.key,
          backend: session.activeBackend ?? backends.report?.active ?? 'cpu',
          runs,
          baselineLogits,
        });
        return;
      }
      case 'cancel':
      case 'status':
        return;
    }
  }

  const fail = (req: CompareRequest) => (e: unknown) => {
    const err = e instanceof TokenScopeError ? e : new TokenScopeError('internal', (e as Error)?.message ?? String(e));
    post({ type: 'error', runId: req.runId, request: req.type, code: err.code, message: err.message });
  };

  let queue: Promise<void> = Promise.resolve();
  return (req) => {
    switch (req.type) {
      case 'cancel':
        controllers.get(req.target)?.abort();
        return Promise.resolve();
      case 'status':
        post({ type: 'status', runId: req.runId, status: status() });
        return Promise.resolve();
      case 'traces':
        return handle(req).catch(fail(req));
      default:
        if (req.type === 'sweep' || req.type === 'budget') controllers.set(req.runId, new AbortController());
        queue = queue.then(() => handle(req).catch(fail(req)));
        return queue;
    }
  };
}
