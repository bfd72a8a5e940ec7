/**
 * The compare page's side of its worker, as one React hook: reads the link against the model,
 * chooses the backend, loads the model, runs the first sweep, and from then on runs what the
 * controls ask for (sweeps, equal budgets, side-by-side traces, the user's images). One
 * evaluation at a time; the running one can be cancelled. Results never go into the link.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { TokenScopeError } from '../../errors';
import { errorMessage } from '../error-message';
import { DEFAULT_SAMPLE, EVAL_SET_PATH, isSample } from '../gallery';
import { formatHubId } from '../../io/catalog';
import { bundledModelSource } from '../model/bundled';
import { type LinkedModel, offlineModelSource, readLinkedModel } from '../model/linked-model';
import { readConfig } from '../model/read-config';
import { loadReport } from '../model/load-report';
import type { LoadReport, PickedModel } from '../views/ModelPicker';
import { createStore, syncUrl } from '../state/store';
import { useStore } from '../state/use-store';
import type { BackendReport, ModelInfo, ModelSource } from '../worker/protocol';
import { CompareClient } from './client';
import type { EvalData, SweepResult, TraceRun, WorkerStatus } from './protocol';
import { type CompareContext, type CompareState, defaultCompareState, formatCompareUrl, parseCompareUrl } from './url';

export const compareContext = (depth: number): CompareContext => ({ depth, isSample, defaultSample: DEFAULT_SAMPLE });

/** The bundled evaluation set, its first `limit` images. */
export function bundledData(limit: number): EvalData {
  return { kind: 'bundled', url: new URL(EVAL_SET_PATH, document.baseURI).href, name: EVAL_SET_PATH, limit };
}

export interface Running {
  runId: number;
  kind: 'sweep' | 'budget';
  dataKind: EvalData['kind'];
  phase: string;
  done: number;
  total: number;
  plans: number;
  elapsedMs: number;
}

export interface RunMessage {
  tone: 'info' | 'error';
  text: string;
}

export interface SideRuns {
  inputKey: string;
  backend: string;
  runs: TraceRun[];
  baselineLogits: number[];
}

export interface Notice {
  id: string;
  text: string;
  tone: 'info' | 'warning';
}

export function useCompare() {
  const [store] = useState(() => createStore<CompareState>(defaultCompareState(compareContext(12))));
  const state = useStore(store, (s) => s);
  const clientRef = useRef<CompareClient | null>(null);
  const runningRef = useRef<Running | null>(null);
  /** Settles when the running evaluation has ended (finished, failed or cancelled). */
  const runningDone = useRef<Promise<unknown>>(Promise.resolve());
  const [ctx, setCtx] = useState<CompareContext | null>(null);
  const [model, setModel] = useState<{ info: ModelInfo; hash: string } | null>(null);
  const [modelError, setModelError] = useState<string | null>(null);
  const [backend, setBackend] = useState<{ report: BackendReport | null; error: string | null; busy: boolean }>({ report: null, error: null, busy: true });
  const [status, setStatus] = useState<WorkerStatus | null>(null);
  const [running, setRunningState] = useState<Running | null>(null);
  const [results, setResults] = useState<Partial<Record<EvalData['kind'], SweepResult>>>({});
  const [shown, setShown] = useState<EvalData['kind']>('bundled');
  const [budget, setBudget] = useState<SweepResult | null>(null);
  const [runMessage, setRunMessage] = useState<RunMessage | null>(null);
  const [notices, setNotices] = useState<Notice[]>([]);

  /** The ref is the source of truth (read synchronously between awaits); the state re-renders. */
  const setRunning = (r: Running | null | ((r: Running | null) => Running | null)) => {
    const next = typeof r === 'function' ? r(runningRef.current) : r;
    runningRef.current = next;
    setRunningState(next);
  };

  /** Runs one evaluation in the worker; resolves when it is done, failed or cancelled. */
  const evaluate = useCallback(
    async (kind: 'sweep' | 'budget', data: EvalData, budgetText = ''): Promise<void> => {
      const client = clientRef.current;
      if (!client || runningRef.current) return;
      const methods = store.get().methods;
      const { runId, done } = kind === 'sweep' ? client.send({ type: 'sweep', methods, data }) : client.send({ type: 'budget', methods, data, budget: budgetText });
      const total = data.kind === 'bundled' ? data.limit : data.count;
      setRunning({ runId, kind, dataKind: data.kind, phase: kind, done: 0, total, plans: 0, elapsedMs: 0 });
      runningDone.current = done;
      setRunMessage(null);
      const reply = await done;
      const last = runningRef.current as Running | null; // read after the await: progress has moved it on
      setRunning((r) => (r?.runId === runId ? null : r));
      if (!reply) return;
      if (reply.type === 'result') {
        if (kind === 'sweep') {
          setResults((rs) => ({ ...rs, [data.kind]: reply.result }));
          setShown(data.kind);
        } else {
          setBudget(reply.result);
        }
      } else if (reply.type === 'cancelled') {
        const where = last && last.runId === runId ? ` after ${last.done.toLocaleString('en')} of ${last.total.toLocaleString('en')} images (${last.phase})` : '';
        setRunMessage({ tone: 'info', text: `Cancelled${where}. Nothing from the unfinished pass was kept; the plot still shows the last finished run.` });
      } else if (reply.type === 'error') {
        setRunMessage({ tone: 'error', text: `The ${kind === 'sweep' ? 'sweep' : 'budget'} failed: ${reply.message}` });
      }
    },
    [store],
  );

  const [pendingLink, setPendingLink] = useState<LinkedModel | null>(null);
  /** The model in use, read between awaits (the user may switch during the first sweep). */
  const modelRef = useRef<ModelInfo | null>(null);

  /**
   * Loads a model in the worker; on success every result of the old one goes and the link follows
   * (its side-by-side plans and block only if they fit the new depth). The bundled model sweeps
   * its evaluation set at once; a checkpoint waits for the user's images. Throws on failure, and
   * the old model keeps running.
   */
  const switchModel = useCallback(
    async (source: ModelSource, search: string | null = null): Promise<ModelInfo> => {
      const client = clientRef.current;
      if (!client) throw new TokenScopeError('internal', 'the engine has not started');
      const running = runningRef.current;
      if (running) {
        client.cancel(running.runId); // its results belong to the old model
        await runningDone.current;
      }
      const m = await client.send({ type: 'load-model', source }).done;
      if (!m) throw new TokenScopeError('cancelled', 'a newer model was chosen meanwhile');
      if (m.type === 'error') throw new TokenScopeError(m.code, m.message);
      if (m.type !== 'model-loaded') throw new TokenScopeError('internal', `unexpected reply ${m.type}`);
      const depth = m.model.config.num_hidden_layers;
      const context = compareContext(depth);
      const current = store.get();
      if (search !== null) {
        const { state: linked, problems } = parseCompareUrl(search, context);
        store.set({ ...linked, backend: current.backend });
        setNotices(problems.map((text, i) => ({ id: `url-${i}`, text, tone: 'warning' })));
      } else {
        store.set({ plans: [], layer: null });
      }
      store.set({ model: m.model.origin.kind === 'hub' ? formatHubId(m.model.origin) : null });
      setCtx(context);
      setResults({});
      setBudget(null);
      setShown('bundled');
      setRunMessage(null);
      modelRef.current = m.model;
      setModel({ info: m.model, hash: m.hash });
      return m.model;
    },
    [store],
  );

  const isBundled = (info: ModelInfo) => info.origin.kind === 'bundled' || info.origin.kind === 'random';

  useEffect(() => {
    let alive = true;
    const client = CompareClient.start({
      onProgress: (p) =>
        alive && setRunning((r) => (r && r.runId === p.runId ? { ...r, phase: p.phase, done: p.done, total: p.total, plans: p.plans, elapsedMs: p.elapsedMs } : r)),
      onStatus: (s) => alive && setStatus(s),
    });
    clientRef.current = client;
    (async () => {
      const source = bundledModelSource();
      const config = await readConfig(source);
      if (!alive) return;
      const { linked } = readLinkedModel(location.search, []);
      const { state: first } = parseCompareUrl(location.search, compareContext(config.num_hidden_layers));
      store.set({ backend: first.backend });
      const b = await client.send({ type: 'set-backend', choice: first.backend }).done;
      if (!alive || !b) return;
      if (b.type === 'error') throw new TokenScopeError(b.code, b.message);
      if (b.type === 'backend-set') setBackend({ report: b.backend, error: null, busy: false });
      let info: ModelInfo | null = null;
      const offline = linked ? await offlineModelSource(linked.ref) : null;
      if (offline && alive) info = await switchModel(offline, location.search).catch(() => null);
      if (!alive) return;
      if (!info) {
        info = await switchModel(source, linked ? `?${withoutModel(location.search)}` : location.search);
        if (linked && alive) {
          store.set({ model: formatHubId(linked.ref) }); // the link stays in the address bar while the user decides
          setPendingLink(linked);
        }
      }
      if (!alive || !isBundled(info)) return;
      const { n, budget: linkedBudget } = store.get();
      await evaluate('sweep', bundledData(n));
      if (alive && linkedBudget && modelRef.current === info) await evaluate('budget', bundledData(n), linkedBudget);
    })().catch((e) => alive && setModelError(`The model could not start: ${errorMessage(e)}`));
    return () => {
      alive = false;
      client.terminate();
      clientRef.current = null;
      runningRef.current = null;
    };
  }, [store, evaluate, switchModel]);

  /** The picker's hand-over; the bundled model sweeps its set right away. */
  const onModelPicked = useCallback(
    async (picked: PickedModel): Promise<LoadReport> => {
      const info = await switchModel({ kind: 'files', name: picked.name, origin: picked.origin, files: picked.files });
      setPendingLink(null);
      return loadReport(info);
    },
    [switchModel],
  );

  const onBundled = useCallback(async (): Promise<LoadReport> => {
    const info = await switchModel(bundledModelSource());
    setPendingLink(null);
    void evaluate('sweep', bundledData(store.get().n));
    return loadReport(info);
  }, [switchModel, evaluate, store]);

  const dismissPendingLink = useCallback(() => {
    setPendingLink(null);
    store.set({ model: null });
  }, [store]);

  useEffect(() => (ctx ? syncUrl(store, (s) => formatCompareUrl(s, ctx)) : undefined), [store, ctx]);

  const chooseBackend = useCallback(
    async (choice: CompareState['backend']) => {
      const client = clientRef.current;
      if (!client || runningRef.current) return;
      store.set({ backend: choice });
      setBackend((s) => ({ ...s, busy: true }));
      const reply = await client.send({ type: 'set-backend', choice }).done;
      if (!reply) return;
      if (reply.type === 'backend-set') setBackend({ report: reply.backend, error: null, busy: false });
      else if (reply.type === 'error') setBackend((s) => ({ ...s, error: reply.message, busy: false }));
    },
    [store],
  );

  const cancel = useCallback(() => {
    const r = runningRef.current;
    if (r) clientRef.current?.cancel(r.runId);
  }, []);

  /** Fate traces of several plans on one image (the side-by-side view); a newer request supersedes. */
  const latestTraces = useRef(0);
  const requestTraces = useCallback(
    async (input: { key: string; size: number; channels: number; pixels: Float32Array }, plans: string[]): Promise<SideRuns | { error: string } | null> => {
      const client = clientRef.current;
      if (!client) return null;
      const { runId, done } = client.send({ type: 'traces', input, plans });
      latestTraces.current = runId;
      const reply = await done;
      if (!reply || runId !== latestTraces.current) return null;
      if (reply.type === 'traces') return { inputKey: reply.inputKey, backend: reply.backend, runs: reply.runs, baselineLogits: reply.baselineLogits };
      if (reply.type === 'error') return { error: reply.message };
      return null;
    },
    [],
  );

  return {
    store,
    state,
    ctx,
    model,
    modelError,
    backend,
    status,
    running,
    results,
    shown,
    setShown,
    budget,
    runMessage,
    notices,
    pendingLink,
    onModelPicked,
    onBundled,
    dismissPendingLink,
    dismissNotice: (id: string) => setNotices((ns) => ns.filter((n) => n.id !== id)),
    evaluate,
    cancel,
    chooseBackend,
    requestTraces,
    refreshStatus: () => clientRef.current?.requestStatus(),
  };
}

/** The query without its model field (the bundled model runs while a linked one waits). */
function withoutModel(search: string): string {
  const query = new URLSearchParams(search);
  query.delete('model');
  return query.toString();
}
