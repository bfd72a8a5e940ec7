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
import { bundledModelSource } from '../model/bundled';
import { readConfig } from '../model/read-config';
import { createStore, syncUrl } from '../state/store';
import { useStore } from '../state/use-store';
import type { BackendReport, ModelInfo } from '../worker/protocol';
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
  const evaluate = useCallback(async (kind: 'sweep' | 'budget', data: EvalData, budgetText = ''): Promise<void> => {
    const client = clientRef.current;
    if (!client || runningRef.current) return;
    const methods = store.get().methods;
    const { runId, done } = kind === 'sweep' ? client.send({ type: 'sweep', methods, data }) : client.send({ type: 'budget', methods, data, budget: budgetText });
    const total = data.kind === 'bundled' ? data.limit : data.count;
    setRunning({ runId, kind, dataKind: data.kind, phase: kind, done: 0, total, plans: 0, elapsedMs: 0 });
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
  }, [store]);

  useEffect(() => {
    let alive = true;
    const client = CompareClient.start({
      onProgress: (p) => alive && setRunning((r) => (r && r.runId === p.runId ? { ...r, phase: p.phase, done: p.done, total: p.total, plans: p.plans, elapsedMs: p.elapsedMs } : r)),
      onStatus: (s) => alive && setStatus(s),
    });
    clientRef.current = client;
    (async () => {
      const source = bundledModelSource();
      const config = await readConfig(source);
      if (!alive) return;
      const context = compareContext(config.num_hidden_layers);
      const { state: linked, problems } = parseCompareUrl(location.search, context);
      store.set(linked);
      setCtx(context);
      setNotices(problems.map((text, i) => ({ id: `url-${i}`, text, tone: 'warning' })));
      const b = await client.send({ type: 'set-backend', choice: linked.backend }).done;
      if (!alive || !b) return;
      if (b.type === 'error') throw new TokenScopeError(b.code, b.message);
      if (b.type === 'backend-set') setBackend({ report: b.backend, error: null, busy: false });
      const m = await client.send({ type: 'load-model', source }).done;
      if (!alive || !m) return;
      if (m.type === 'error') throw new TokenScopeError(m.code, m.message);
      if (m.type !== 'model-loaded') return;
      setModel({ info: m.model, hash: m.hash });
      await evaluate('sweep', bundledData(linked.n));
      if (alive && linked.budget) await evaluate('budget', bundledData(linked.n), linked.budget);
    })().catch((e) => alive && setModelError(`The model could not start: ${errorMessage(e)}`));
    return () => {
      alive = false;
      client.terminate();
      clientRef.current = null;
      runningRef.current = null;
    };
  }, [store, evaluate]);

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
  const requestTraces = useCallback(async (input: { key: string; size: number; channels: number; pixels: Float32Array }, plans: string[]): Promise<SideRuns | { error: string } | null> => {
    const client = clientRef.current;
    if (!client) return null;
    const { runId, done } = client.send({ type: 'traces', input, plans });
    latestTraces.current = runId;
    const reply = await done;
    if (!reply || runId !== latestTraces.current) return null;
    if (reply.type === 'traces') return { inputKey: reply.inputKey, backend: reply.backend, runs: reply.runs, baselineLogits: reply.baselineLogits };
    if (reply.type === 'error') return { error: reply.message };
    return null;
  }, []);

  return {
    store, state, ctx, model, modelError, backend, status, running, results, shown, setShown, budget, runMessage, notices,
    dismissNotice: (id: string) => setNotices((ns) => ns.filter((n) => n.id !== id)),
    evaluate, cancel, chooseBackend, requestTraces,
    refreshStatus: () => clientRef.current?.requestStatus(),
  };
}
