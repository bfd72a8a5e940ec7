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
import type { VitConfig } from '../../model/config';
import { parsePlan } from '../../reduce/plan';
import { errorMessage } from '../error-message';
import { DEFAULT_SAMPLE, isSample } from '../gallery';
import { preprocess, type InputSpec, type ModelInput } from '../image/preprocess';
import type { ImageSource } from '../image/sources';
import { bundledModelSource } from '../model/bundled';
import { readConfig } from '../model/read-config';
import { inputCanvas } from '../views/draw-fates';
import type { LoadedModelFiles } from '../views/ModelSlot';
import { EngineClient } from '../worker/client';
import type { BackendReport, ModelInfo, RunResult, Timing } from '../worker/protocol';
import { type Store, syncUrl } from './store';
import { formatUrl, parseUrl, type UrlState } from './url';
import type { UrlContext } from './url-codec';
import type { BackendChoice } from './url-fields';
import { useStore } from './use-store';

export const urlContext = (depth: number): UrlContext => ({ depth, isSample, defaultSample: DEFAULT_SAMPLE });

/** The model's preprocessing settings, from its config. */
export function inputSpec(config: VitConfig): InputSpec {
  const C = config.num_channels;
  return {
    size: config.image_size,
    channels: C,
    mean: config.image_mean ?? Array(C).fill(0.5),
    std: config.image_std ?? Array(C).fill(0.5),
    // The Fashion-MNIST convention (light object on black) holds for greyscale models.
    invertLightBackground: C === 1,
  };
}

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

  useEffect(() => {
    let alive = true;
    const client = EngineClient.start({ onTiming: (t) => alive && setTiming(t) });
    clientRef.current = client;
    (async () => {
      const modelSource = bundledModelSource();
      const config = await readConfig(modelSource);
      if (!alive) return;
      const context = urlContext(config.num_hidden_layers);
      const { state, problems } = parseUrl(location.search, context);
      store.set(state);
      setCtx(context);
      problems.forEach((text, i) => addNotice({ id: `url-${i}`, text, tone: 'warning' }));
      appliedBackend.current = state.backend;
      const b = await client.setBackend(state.backend);
      if (!alive || !b) return;
      if (b.type === 'error') throw new TokenScopeError(b.code, b.message);
      if (b.type === 'backend-set') setBackend((s) => ({ ...s, report: b.backend, error: null, busy: false }));
      showSample(state.sample);
      const m = await client.loadModel(modelSource);
      if (!alive || !m) return;
      if (m.type === 'error') throw new TokenScopeError(m.code, m.message);
      if (m.type === 'model-loaded') setModel(m.model);
    })().catch((e) => alive && setModelError(`The model could not start: ${errorMessage(e)}`));
    return () => {
      alive = false;
      client.terminate();
    };
  }, [store, addNotice, showSample]);

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

  const config = model?.config ?? null;
  const prepared = useMemo(() => {
    if (!source || !config) return null;
    try {
      const input = preprocess(source.rgba, inputSpec(config));
      return { input, image: inputCanvas(input), error: null };
    } catch (e) {
      return { input: null, image: null, error: errorMessage(e) };
    }
  }, [source, config]);

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

  /** For the model picker: load its files, then re-check the plan and the link against the new depth. */
  const onModelLoaded = useCallback(
    async (files: LoadedModelFiles) => {
      const client = clientRef.current;
      if (!client) return;
      setModelError(null);
      const reply = await client.loadModel({ kind: 'files', ...files });
      if (!reply) return;
      if (reply.type === 'error') return setModelError(`${files.name} could not be loaded: ${reply.message}`);
      if (reply.type !== 'model-loaded') return;
      const depth = reply.model.config.num_hidden_layers;
      const current = store.get();
      const parsed = parsePlan(current.plan, depth);
      if (!parsed.ok) addNotice({ id: 'plan-model', text: `The plan does not fit ${files.name} (${parsed.error.message}); running it unreduced.`, tone: 'warning' });
      store.set({ plan: parsed.ok ? current.plan : 'none', layer: current.layer !== null && current.layer < depth ? current.layer : null });
      setCtx(urlContext(depth));
      setShown(null);
      setModel(reply.model);
    },
    [store, addNotice],
  );

  // Timing belongs to the shown result only.
  const result = shown?.result;
  const currentTiming = timing && result && timing.plan === result.plan && timing.backend === result.backend && timing.inputKey === result.inputKey ? timing : null;

  return { url, ctx, model, modelError, backend, prepared, shown, running, runError, timing: currentTiming, onModelLoaded };
}
