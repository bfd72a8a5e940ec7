/**
 * The page's side of the engine: starts the worker, and keeps model, backend and the shown run in
 * step with the URL store and the current picture.
 *
 * Start-up: read the bundled model's config (for its depth), read the link against it, choose
 * the backend, load the model in the worker, then show the linked sample. From then on every change
 * of plan, picture, model or backend re-runs the model at once; the client drops replies to
 * superseded runs, and the last good result stays on screen meanwhile.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { TokenScopeError } from '../../errors';
import { formatHubId } from '../../io/catalog';
import { errorMessage } from '../error-message';
import { DEFAULT_SAMPLE, isSample } from '../gallery';
import { type ModelInput, prepareInput } from '../image/preprocess';
import type { ImageSource } from '../image/sources';
import { bundledModelSource } from '../model/bundled';
import { type LinkedModel, offlineModelSource, readLinkedModel } from '../model/linked-model';
import { loadReport } from '../model/load-report';
import { readConfig } from '../model/read-config';
import { inputCanvas } from '../views/draw-fates';
import type { LoadReport, PickedModel } from '../views/ModelPicker';
import { EngineClient } from '../worker/client';
import type { BackendReport, ModelInfo, ModelSource, RunResult, Timing } from '../worker/protocol';
import { fitPlan } from './plan-fit';
import { type Store, syncUrl } from './store';
import { formatUrl, parseUrl, type UrlState } from './url';
import type { UrlContext } from './url-codec';
import type { BackendChoice } from './url-fields';
import { useStore } from './use-store';

/** What a bare address shows: ToMe merging a few tokens per block, so the first screen moves. */
export const FIRST_VISIT_PLAN = 'tome:r=4';

export const urlContext = (depth: number): UrlContext => ({ depth, isSample, defaultSample: DEFAULT_SAMPLE });

export interface Notice {
  id: string;
  text: string;
  tone: 'info' | 'warning';
}

/** A result with the input it was computed on (the picture may have changed since). */
export interface Shown {
  result: RunResult;
  input: ModelInput;
  image: HTMLCanvasElement;
  sourceName: string;
}

export interface BackendState {
  report: BackendReport | null;
  error: string | null;
  busy: boolean;
  /** Bumped whenever the backend changes, so runs follow. */
  generation: number;
}

interface Options {
  store: Store<UrlState>;
  source: ImageSource | null;
  addNotice(n: Notice): void;
  /** Called once at start-up with the linked sample. */
  showSample(id: string): void;
}

export function useEngine({ store, source, addNotice, showSample }: Options) {
  const url = useStore(store, (s) => s);
  const clientRef = useRef<EngineClient | null>(null);
  const appliedBackend = useRef<BackendChoice | null>(null);
  const [ctx, setCtx] = useState<UrlContext | null>(null);
  const [model, setModel] = useState<ModelInfo | null>(null);
  const [modelError, setModelError] = useState<string | null>(null);
  const [backend, setBackend] = useState<BackendState>({ report: null, error: null, busy: true, generation: 0 });
  const [shown, setShown] = useState<Shown | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [timing, setTiming] = useState<Timing | null>(null);
  const [pendingLink, setPendingLink] = useState<LinkedModel | null>(null);
  const pendingRef = useRef<LinkedModel | null>(null);
  pendingRef.current = pendingLink;

  /**
   * Loads a model in the worker. On success the page follows it — the plan fitted to the new depth
   * (or the link's own plan), the block, the link — and the old model is gone; on failure it
   * throws and the old model keeps running.
   */
  const loadModel = useCallback(
    async (modelSource: ModelSource, linked: { plan: string | null; layer: string | null } | null = null): Promise<ModelInfo> => {
      const client = clientRef.current;
      if (!client) throw new TokenScopeError('internal', 'the engine has not started');
      const reply = await client.loadModel(modelSource);
      if (!reply) throw new TokenScopeError('cancelled', 'a newer model was chosen meanwhile');
      if (reply.type === 'error') throw new TokenScopeError(reply.code, reply.message);
      if (reply.type !== 'model-loaded') throw new TokenScopeError('internal', `unexpected reply ${reply.type}`);
      const info = reply.model;
      const depth = info.config.num_hidden_layers;
      const current = store.get();
      const fitted = fitPlan(linked?.plan ?? current.plan, depth);
      if (fitted.problem) {
        const now = fitted.plan === 'none' ? 'the unreduced model runs' : `the nearest valid plan runs: ${fitted.plan}`;
        addNotice({ id: 'plan-model', text: `The plan does not fit ${info.name}: ${fitted.problem}. Instead ${now}.`, tone: 'warning' });
      }
      const layerText = linked ? linked.layer : current.layer === null ? null : String(current.layer);
      const layer = layerText !== null && /^\d{1,4}$/.test(layerText) && Number(layerText) < depth ? Number(layerText) : null;
      store.set({ plan: fitted.plan, layer, model: info.origin.kind === 'hub' ? formatHubId(info.origin) : null });
      setCtx(urlContext(depth));
      setShown(null);
      setModelError(null);
      setModel(info);
      return info;
    },
    [store, addNotice],
  );

  useEffect(() => {
    let alive = true;
    const client = EngineClient.start({ onTiming: (t) => alive && setTiming(t) });
    clientRef.current = client;

    /** Opens the link's hub model from the offline copy; false when it is not there (or fails). */
    const openLinkedOffline = async (linked: LinkedModel): Promise<boolean> => {
      const offline = await offlineModelSource(linked.ref);
      if (!offline || !alive) return false;
      try {
        await loadModel(offline, linked);
        return true;
      } catch (e) {
        addNotice({
          id: 'link-model',
          text: `The linked model ${linked.ref.repo} could not be opened from the offline copy (${errorMessage(e)}); the bundled model runs instead.`,
          tone: 'warning',
        });
        return false;
      }
    };

    (async () => {
      const bundled = bundledModelSource();
      const config = await readConfig(bundled);
      if (!alive) return;
      const { linked, rest } = readLinkedModel(location.search);
      const context = urlContext(config.num_hidden_layers);
      const { state, problems } = parseUrl(rest, context);
      // A first visit (a bare address) opens on something that moves: a mild ToMe plan.
      if (location.search === '') state.plan = FIRST_VISIT_PLAN;
      store.set(state);
      setCtx(context);
      problems.forEach((text, i) => addNotice({ id: `url-${i}`, text, tone: 'warning' }));
      appliedBackend.current = state.backend;
      const b = await client.setBackend(state.backend);
      if (!alive || !b) return;
      if (b.type === 'error') throw new TokenScopeError(b.code, b.message);
      if (b.type === 'backend-set') setBackend((s) => ({ ...s, report: b.backend, error: null, busy: false }));
      showSample(state.sample);
      if (linked && (await openLinkedOffline(linked))) return;
      if (!alive) return;
      await loadModel(bundled, { plan: state.plan, layer: state.layer === null ? null : String(state.layer) });
      if (linked && alive) {
        store.set({ model: formatHubId(linked.ref) }); // the link stays in the address bar while the user decides
        setPendingLink(linked);
      }
    })().catch((e) => alive && setModelError(`The model could not start: ${errorMessage(e)}`));
    return () => {
      alive = false;
      client.terminate();
    };
  }, [store, addNotice, showSample, loadModel]);

  // The address bar follows the store once the link has been read.
  useEffect(() => (ctx ? syncUrl(store, (s) => formatUrl(s, ctx)) : undefined), [store, ctx]);

  // A backend chosen in the menu (the start-up one is applied above).
  useEffect(() => {
    const client = clientRef.current;
    if (!client || !ctx || appliedBackend.current === null || url.backend === appliedBackend.current) return;
    appliedBackend.current = url.backend;
    setBackend((s) => ({ ...s, busy: true }));
    setTiming(null);
    void client.setBackend(url.backend).then((reply) => {
      if (!reply) return;
      if (reply.type === 'backend-set') setBackend((s) => ({ report: reply.backend, error: null, busy: false, generation: s.generation + 1 }));
      else if (reply.type === 'error') setBackend((s) => ({ ...s, error: reply.message, busy: false, generation: s.generation + 1 }));
    });
  }, [url.backend, ctx]);

  const spec = model?.preprocess ?? null;
  const prepared = useMemo(() => {
    if (!source || !spec) return null;
    try {
      const input = prepareInput(source.rgba, spec);
      return { input, image: inputCanvas(input), error: null };
    } catch (e) {
      return { input: null, image: null, error: errorMessage(e) };
    }
  }, [source, spec]);

  useEffect(() => {
    const client = clientRef.current;
    if (!client || !model || !source || !prepared?.input || backend.busy) return;
    const { input, image } = prepared;
    setRunning(true);
    void client.run({ key: source.key, size: input.size, channels: input.channels, pixels: input.pixels }, url.plan).then((reply) => {
      if (!reply) return;
      setRunning(false);
      if (reply.type === 'result') {
        setShown({ result: reply.result, input, image: image!, sourceName: source.name });
        setRunError(null);
        setBackend((s) => ({ ...s, report: reply.result.backendReport }));
      } else if (reply.type === 'error') {
        setRunError(`The run failed: ${reply.message}`);
      }
    });
  }, [model, source, prepared, url.plan, backend.busy, backend.generation]);

  /** The picker's hand-over: the files of a hub or local checkpoint. A pending link's model brings the link's plan. */
  const onModelPicked = useCallback(
    async (picked: PickedModel): Promise<LoadReport> => {
      const pending = pendingRef.current;
      const linked = pending && picked.origin.kind === 'hub' && picked.origin.repo === pending.ref.repo ? pending : null;
      const info = await loadModel({ kind: 'files', name: picked.name, origin: picked.origin, files: picked.files }, linked);
      setPendingLink(null);
      return loadReport(info);
    },
    [loadModel],
  );

  const onBundled = useCallback(async (): Promise<LoadReport> => {
    const info = await loadModel(bundledModelSource());
    setPendingLink(null);
    return loadReport(info);
  }, [loadModel]);

  /** "Stay on the bundled model": the link's model is forgotten. */
  const dismissPendingLink = useCallback(() => {
    setPendingLink(null);
    store.set({ model: null });
  }, [store]);

  // Timing belongs to the shown result only.
  const result = shown?.result;
  const currentTiming = timing && result && timing.plan === result.plan && timing.backend === result.backend && timing.inputKey === result.inputKey ? timing : null;

  return {
    url,
    ctx,
    model,
    modelError,
    backend,
    prepared,
    shown,
    running,
    runError,
    timing: currentTiming,
    onModelPicked,
    onBundled,
    pendingLink,
    dismissPendingLink,
  };
}
