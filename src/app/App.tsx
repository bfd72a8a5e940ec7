/**
 * The playground page. It owns the wiring only: the URL store (plan, sample, layer, backend), the
 * engine worker, the current picture and the last result; every view gets its slice as props.
 *
 * Start-up: read the model's config (for its depth), read the link against it, choose the backend,
 * load the model in the worker, load the sample. From then on every change of plan, picture or
 * backend re-runs the model at once; replies to superseded runs are dropped by the client.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { TokenScopeError } from '../errors';
import { parseConfig, type VitConfig } from '../model/config';
import { formatPlan, parsePlan, type Plan } from '../reduce/plan';
import { fateRecord, tokensFlopsCsv } from './export/formats';
import { gridGeometry, layerViews } from './fates';
import { fidelity } from './fidelity';
import { DEFAULT_SAMPLE, findSample, isSample } from './gallery';
import { preprocess, type InputSpec, type ModelInput } from './image/preprocess';
import { type ImageSource, loadEvalSet, loadFile, loadSample } from './image/sources';
import { bundledModelSource } from './model/bundled';
import { createStore, syncUrl } from './state/store';
import { type BackendChoice, defaultUrlState, formatUrl, parseUrl, type UrlContext, type UrlState } from './state/url';
import { useStore } from './state/use-store';
import { BackendPanel } from './views/BackendPanel';
import { drawLayerStrip, inputCanvas } from './views/draw-fates';
import { download, ExportPanel } from './views/ExportPanel';
import { ImagePanel } from './views/ImagePanel';
import { LayerTable } from './views/LayerTable';
import { LayerTimeline } from './views/LayerTimeline';
import { MethodPanel } from './views/MethodPanel';
import { ModelInputView } from './views/ModelInputView';
import { type LoadedModelFiles, ModelSlot } from './views/ModelSlot';
import { Notices } from './views/Notices';
import { NumbersPanel } from './views/NumbersPanel';
import { PlanEditor } from './views/PlanEditor';
import { TokenChart } from './views/TokenChart';
import { TokenView } from './views/TokenView';
import { EngineClient } from './worker/client';
import type { BackendReport, ModelInfo, ModelSource, RunResult, Timing } from './worker/protocol';
import type { GreyImages } from '../io/grey-images';

interface Notice {
  id: string;
  text: string;
  tone: 'info' | 'warning';
}

/** A result with the input it was computed on (the picture may have changed since). */
interface Shown {
  result: RunResult;
  input: ModelInput;
  image: HTMLCanvasElement;
  sourceName: string;
}

const urlContext = (depth: number): UrlContext => ({ depth, isSample, defaultSample: DEFAULT_SAMPLE });

function inputSpec(config: VitConfig): InputSpec {
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

async function readConfig(source: ModelSource): Promise<VitConfig> {
  if (source.kind !== 'url') return parseConfig(source.configJson);
  const res = await fetch(source.configUrl);
  if (!res.ok) throw new TokenScopeError('data-missing', `could not load the model's config.json: HTTP ${res.status}`);
  return parseConfig(await res.json());
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function App() {
  const [store] = useState(() => createStore<UrlState>(defaultUrlState(urlContext(12))));
  const url = useStore(store, (s) => s);
  const clientRef = useRef<EngineClient | null>(null);
  const appliedBackend = useRef<BackendChoice | null>(null);
  const [ctx, setCtx] = useState<UrlContext | null>(null);
  const [model, setModel] = useState<ModelInfo | null>(null);
  const [modelError, setModelError] = useState<string | null>(null);
  const [backend, setBackend] = useState<{ report: BackendReport | null; error: string | null; busy: boolean; generation: number }>({
    report: null,
    error: null,
    busy: true,
    generation: 0,
  });
  const [source, setSource] = useState<ImageSource | null>(null);
  const [imageError, setImageError] = useState<string | null>(null);
  const [imageBusy, setImageBusy] = useState(false);
  const [shown, setShown] = useState<Shown | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [timing, setTiming] = useState<Timing | null>(null);
  const [notices, setNotices] = useState<Notice[]>([]);
  const [evalSet, setEvalSet] = useState<GreyImages | null>(null);
  const imageRequest = useRef(0);

  const addNotice = useCallback((n: Notice) => setNotices((ns) => [...ns.filter((x) => x.id !== n.id), n]), []);

  const showSample = useCallback(async (id: string) => {
    const item = findSample(id);
    if (!item) return;
    const request = ++imageRequest.current;
    setImageBusy(true);
    try {
      const loaded = await loadSample(item);
      if (request !== imageRequest.current) return;
      setSource(loaded);
      setImageError(null);
    } catch (e) {
      if (request === imageRequest.current) setImageError(`The sample could not be loaded: ${message(e)}`);
    } finally {
      if (request === imageRequest.current) setImageBusy(false);
    }
  }, []);

  // Start-up (see the header comment).
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
      if (b.type === 'backend-set') setBackend((s) => ({ ...s, report: b.backend, error: null, busy: false }));
      else if (b.type === 'error') throw new TokenScopeError(b.code, b.message);
      void showSample(state.sample);
      const m = await client.loadModel(modelSource);
      if (!alive || !m) return;
      if (m.type === 'model-loaded') setModel(m.model);
      else if (m.type === 'error') throw new TokenScopeError(m.code, m.message);
    })().catch((e) => alive && setModelError(`The model could not start: ${message(e)}`));
    loadEvalSet()
      .then((set) => alive && setEvalSet(set))
      .catch(() => {});
    return () => {
      alive = false;
      client.terminate();
    };
  }, [store, addNotice, showSample]);

  // The address bar follows the store.
  useEffect(() => (ctx ? syncUrl(store, (s) => formatUrl(s, ctx)) : undefined), [store, ctx]);

  // Paste an image anywhere on the page.
  const onFile = useCallback(async (file: File) => {
    const request = ++imageRequest.current;
    setImageBusy(true);
    try {
      const loaded = await loadFile(file);
      if (request !== imageRequest.current) return;
      setSource(loaded);
      setImageError(null);
      addNotice({ id: 'upload', text: 'Uploaded images stay in this browser: a shared link shows the last gallery sample instead.', tone: 'info' });
    } catch (e) {
      if (request === imageRequest.current) setImageError(e instanceof TokenScopeError ? e.message : `${file.name} could not be read: ${message(e)}`);
    } finally {
      if (request === imageRequest.current) setImageBusy(false);
    }
  }, [addNotice]);
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const file = [...(e.clipboardData?.files ?? [])][0];
      if (file) {
        e.preventDefault();
        void onFile(file);
      }
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [onFile]);

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
      return { input: null, image: null, error: message(e) };
    }
  }, [source, config]);

  // Every change of plan, picture, model or backend re-runs the model.
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

  const onSample = (id: string) => {
    store.set({ sample: id });
    void showSample(id);
  };

  const depth = config?.num_hidden_layers ?? 0;
  const plan: Plan | null = useMemo(() => {
    if (!depth) return null;
    const parsed = parsePlan(url.plan, depth);
    return parsed.ok ? parsed.value : null;
  }, [url.plan, depth]);

  const applyPlan = useCallback(
    (next: Plan): string | null => {
      const text = formatPlan(next);
      const parsed = parsePlan(text, next.depth);
      if (!parsed.ok) return parsed.error.message;
      store.set({ plan: text });
      return null;
    },
    [store],
  );

  const onModelLoaded = useCallback(
    async (files: LoadedModelFiles) => {
      const client = clientRef.current;
      if (!client) return;
      setModelError(null);
      const reply = await client.loadModel({ kind: 'files', ...files });
      if (!reply) return;
      if (reply.type === 'error') return setModelError(`${files.name} could not be loaded: ${reply.message}`);
      if (reply.type !== 'model-loaded') return;
      const next = reply.model.config.num_hidden_layers;
      const current = store.get();
      const parsed = parsePlan(current.plan, next);
      if (!parsed.ok) addNotice({ id: 'plan-model', text: `The plan does not fit ${files.name} (${parsed.error.message}); running it unreduced.`, tone: 'warning' });
      store.set({ plan: parsed.ok ? current.plan : 'none', layer: current.layer !== null && current.layer < next ? current.layer : null });
      setCtx(urlContext(next));
      setShown(null);
      setModel(reply.model);
    },
    [store, addNotice],
  );

  const result = shown?.result ?? null;
  const geo = useMemo(() => (result && config ? gridGeometry(result.trace, config.image_size / config.patch_size) : null), [result, config]);
  const views = useMemo(() => (result && geo ? layerViews(result.trace, geo) : null), [result, geo]);
  const fid = useMemo(() => (result && config ? fidelity(result.logits, result.baselineLogits, config.id2label) : null), [result, config]);
  const layer = url.layer ?? Math.max(0, depth - 1);
  const selectLayer = useCallback((l: number) => store.set({ layer: l }), [store]);
  const counts = result ? [...result.trace.layers.map((l) => l.nIn), result.trace.layers[result.trace.layers.length - 1].nOut] : null;
  const currentTiming = timing && result && timing.plan === result.plan && timing.backend === result.backend ? timing : null;
  const trueLabel = source?.trueLabel !== undefined && config ? config.id2label[String(source.trueLabel)] : undefined;

  const fileStem = `tokenscope-${(result?.plan ?? 'none').replace(/[^a-z0-9]+/gi, '_').slice(0, 60)}`;
  const exportPng = () => {
    if (!shown || !views || !geo) return;
    const canvas = drawLayerStrip(views, shown.image, geo, `TokenScope · ${shown.result.modelName} · plan ${shown.result.plan} · ${shown.sourceName}`);
    canvas.toBlob((blob) => blob && download(`${fileStem}-layers.png`, blob), 'image/png');
  };
  const exportJson = () => {
    if (!shown || !views || !geo) return;
    const record = fateRecord(shown.result, views, geo, shown.input, shown.sourceName);
    download(`${fileStem}-fates.json`, new Blob([JSON.stringify(record)], { type: 'application/json' }));
  };
  const exportCsv = () => {
    if (!result) return;
    download(`${fileStem}-flops.csv`, new Blob([tokensFlopsCsv(result.trace, result.flops, result.baselineCounts, result.baselineFlops)], { type: 'text/csv' }));
  };

  return (
    <div className="app">
      <header className="app-header">
        <div>
          <h1>TokenScope</h1>
          <p className="tagline">Upload an image and watch every token's fate, block by block, for any token-reduction method.</p>
        </div>
        <BackendPanel
          choice={url.backend}
          report={backend.report}
          error={backend.error}
          busy={backend.busy}
          onChoice={(choice) => store.set({ backend: choice })}
        />
      </header>
      {/* MODEL PICKER SLOT: pass renderPicker={(props) => <ModelPicker {...props} />} once src/app/views/ModelPicker.tsx exists. */}
      <ModelSlot model={model} error={modelError} onModelLoaded={onModelLoaded} />
      <Notices notices={notices} onDismiss={(id) => setNotices((ns) => ns.filter((n) => n.id !== id))} />
      <p className="run-status" aria-live="polite" data-testid="run-status" data-state={running ? 'running' : runError ? 'error' : result ? 'done' : 'idle'} data-plan={result?.plan ?? ''} data-input={result?.inputKey ?? ''} data-backend={result?.backend ?? ''}>
        {running ? 'Running…' : result ? `Showing plan ${result.plan} on ${shown?.sourceName} (${result.backend}).` : 'Waiting for the model…'}
        {result && <span className="muted"> Tensors in memory: <span data-testid="tensor-count">{result.tensors}</span>.</span>}
      </p>
      <main className="layout">
        <div className="controls">
          <ImagePanel selectedSample={source?.sampleId ?? null} onFile={onFile} onSample={onSample} error={imageError ?? prepared?.error ?? null} busy={imageBusy} evalSet={evalSet} />
          {prepared?.input && config && <ModelInputView input={prepared.input} image={prepared.image} patch={config.patch_size} sourceName={source?.name ?? ''} browserStep={source?.browserStep ?? null} />}
          {plan && ctx && <PlanEditor plan={url.plan} depth={depth} onPlanText={(text) => store.set({ plan: text })} runError={runError} />}
          {plan && <LayerTimeline plan={plan} counts={counts} selectedLayer={layer} onPlan={applyPlan} />}
          {plan && <MethodPanel plan={plan} tokens={result?.trace.tokens ?? 64} onPlan={applyPlan} />}
        </div>
        <div className="results">
          {shown && views && geo ? (
            <>
              <TokenView views={views} image={shown.image} geo={geo} layer={Math.min(layer, views.length - 1)} onSelectLayer={selectLayer} />
              <TokenChart counts={counts!} baseline={shown.result.baselineCounts} selectedLayer={layer} onSelectLayer={selectLayer} />
              {fid && (
                <NumbersPanel
                  flops={shown.result.flops}
                  baselineFlops={shown.result.baselineFlops}
                  fidelity={fid}
                  untrained={model?.untrained ?? false}
                  trueLabel={trueLabel}
                  timing={currentTiming}
                  firstRunMs={shown.result.firstRunMs}
                  backend={shown.result.backend}
                />
              )}
              <LayerTable trace={shown.result.trace} flops={shown.result.flops} baselineCounts={shown.result.baselineCounts} baselineFlops={shown.result.baselineFlops} selectedLayer={layer} />
              <ExportPanel onPng={exportPng} onJson={exportJson} onCsv={exportCsv} />
            </>
          ) : (
            <section className="panel">
              <p>{modelError ?? 'The first run appears here in a moment.'}</p>
            </section>
          )}
        </div>
      </main>
      <footer className="muted small">
        Numbers are live: computed on this image in this browser. FLOPs follow the fvcore convention; latency is wall time on the named backend (software
        GPU adapters are not GPU timings).
      </footer>
    </div>
  );
}
