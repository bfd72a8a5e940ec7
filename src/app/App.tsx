/**
 * The playground page: layout, and the hand-off between state and views. The URL store holds what
 * a link reproduces (plan, sample, layer, backend); useEngine runs the model in the worker;
 * useImageSource holds the picture. Each view gets its slice as props and never calls the engine.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { findCatalogEntry } from '../io/catalog';
import { FASHION_MNIST_CLASSES } from '../io/datasets';
import type { GreyImages } from '../io/grey-images';
import { formatPlan, parsePlan, type Plan } from '../reduce/plan';
import { fateRecord, tokensFlopsCsv } from './export/formats';
import { gridGeometry, layerViews } from './fates';
import { fidelity } from './fidelity';
import { DEFAULT_PHOTO, galleryFor, isFashionSample } from './gallery';
import { loadEvalSet } from './image/sources';
import { hubBase } from './model/hub-base';
import { createStore } from './state/store';
import { type Notice, urlContext, useEngine } from './state/use-engine';
import { useImageSource } from './state/use-image-source';
import { defaultUrlState, type UrlState } from './state/url';
import { LessonIndex } from './lessons/LessonIndex';
import { LessonPanel } from './lessons/LessonPanel';
import { liveValues } from './lessons/live';
import { PredictGrid, predictTruth } from './lessons/PredictGrid';
import { useLessonPlayer } from './lessons/use-lesson';
import { BackendPanel } from './views/BackendPanel';
import { CopyLink } from './views/CopyLink';
import { DecisionView } from './views/DecisionView';
import { drawLayerStrip } from './views/draw-fates';
import { download, ExportPanel } from './views/ExportPanel';
import { ImagePanel } from './views/ImagePanel';
import { LayerTable } from './views/LayerTable';
import { LayerTimeline } from './views/LayerTimeline';
import { MethodPanel } from './views/MethodPanel';
import { ModelInputView } from './views/ModelInputView';
import { ModelPicker, useModelPickerController } from './views/ModelPicker';
import { ModelSlot } from './views/ModelSlot';
import { Notices } from './views/Notices';
import { NumbersPanel } from './views/NumbersPanel';
import { PlanEditor } from './views/PlanEditor';
import { TokenChart } from './views/TokenChart';
import { TokenView } from './views/TokenView';
import { gpuMemoryText } from './gpu-memory-text';

export function App() {
  // Defaults until the model's depth is known; the link is read against the real one at start-up.
  const [store] = useState(() => createStore<UrlState>(defaultUrlState(urlContext(12))));
  const [notices, setNotices] = useState<Notice[]>([]);
  const [evalSet, setEvalSet] = useState<GreyImages | null>(null);
  const addNotice = useCallback((n: Notice) => setNotices((ns) => [...ns.filter((x) => x.id !== n.id), n]), []);
  const onUpload = useCallback(
    () => addNotice({ id: 'upload', text: 'Uploaded images stay in this browser: a shared link shows the last gallery sample instead.', tone: 'info' }),
    [addNotice],
  );
  const image = useImageSource(onUpload);
  const showSample = image.showSample;
  const startSample = useCallback((id: string) => void showSample(id), [showSample]);
  const { url, ctx, model, modelError, backend, prepared, shown, running, runError, timing, onModelPicked, onBundled, pendingLink, dismissPendingLink } = useEngine({
    store,
    source: image.source,
    addNotice,
    showSample: startSample,
  });
  const picker = useModelPickerController({ onModelLoaded: onModelPicked, onBundled, hubBase: hubBase() });
  const player = useLessonPlayer(store, url, model, startSample);
  // A link naming an unknown lesson gets a notice (the link reader) and the list of lessons.
  const [lessonLinkBroken] = useState(() => new URLSearchParams(location.search).has('lesson'));

  // An RGB (ImageNet) model starts on a photo rather than a Fashion-MNIST sample.
  const channels = model?.config.num_channels ?? 1;
  useEffect(() => {
    const sample = store.get().sample;
    if (channels === 3 && isFashionSample(sample) && image.source?.sampleId === sample) {
      store.set({ sample: DEFAULT_PHOTO });
      void showSample(DEFAULT_PHOTO);
    }
    // Only a change of model moves the picture; the user's later choices stay.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model]);

  useEffect(() => {
    let alive = true;
    loadEvalSet()
      .then((set) => alive && setEvalSet(set))
      .catch(() => {}); // the gallery then shows blank eval thumbnails; choosing one reports the error
    return () => {
      alive = false;
    };
  }, []);

  const config = model?.config ?? null;
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
  const onSample = (id: string) => {
    store.set({ sample: id });
    void image.showSample(id);
  };

  const result = shown?.result ?? null;
  const geo = useMemo(() => (result && config ? gridGeometry(result.trace, config.image_size / config.patch_size) : null), [result, config]);
  const views = useMemo(() => (result && geo ? layerViews(result.trace, geo) : null), [result, geo]);
  const fid = useMemo(() => (result && config ? fidelity(result.logits, result.baselineLogits, config.id2label) : null), [result, config]);
  const layer = Math.min(url.layer ?? depth - 1, Math.max(0, depth - 1));
  const selectLayer = useCallback((l: number) => store.set({ layer: l }), [store]);
  const counts = result ? [...result.trace.layers.map((l) => l.nIn), result.trace.layers[result.trace.layers.length - 1].nOut] : null;
  const source = image.source;
  // A Fashion-MNIST sample's label means something only to a model with the Fashion-MNIST classes.
  const fashionLabel = source?.trueLabel !== undefined ? FASHION_MNIST_CLASSES[source.trueLabel] : undefined;
  const trueLabel = fashionLabel && config && config.id2label[String(source!.trueLabel)] === fashionLabel ? fashionLabel : undefined;

  const lessonStep = player.lesson?.steps[player.stepIndex] ?? null;
  const live = useMemo(() => (result && model ? liveValues({ result, model, layer, timing }) : null), [result, model, layer, timing]);
  // While a prediction is open the page holds no answer: the fates and the why view wait for Reveal.
  const predictOpen = Boolean(lessonStep?.predict) && !player.revealed;
  const predictSlot =
    lessonStep?.predict && shown && views && geo ? (
      <PredictGrid
        key={`${player.lesson!.id}-${player.stepIndex}-${shown.result.inputKey}`}
        task={lessonStep.predict}
        image={shown.image}
        geo={geo}
        answer={() => predictTruth(views[layer], geo, lessonStep.predict!.fate)}
        revealed={player.revealed}
        onReveal={player.reveal}
      />
    ) : null;

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

  const status = running ? 'running' : runError ? 'error' : result ? 'done' : 'idle';
  return (
    <div className={`app${url.present ? ' present' : ''}`}>
      <header className="app-header">
        <div>
          <h1>TokenScope</h1>
          <p className="tagline">
            Upload an image and watch every token's fate, block by block, for any token-reduction method.{' '}
            <a href="compare.html">Compare methods: accuracy against FLOPs</a>
          </p>
        </div>
        <div className="header-tools">
          <LessonIndex open={url.lesson === 'index' || (lessonLinkBroken && url.lesson === null && ctx !== null)} onOpen={player.open} />
          {!player.lesson && (
            <button type="button" onClick={() => player.open('tokens')} data-testid="start-tour">
              Start the tour
            </button>
          )}
          <BackendPanel
            choice={url.backend}
            report={backend.report}
            error={backend.error}
            busy={backend.busy}
            onChoice={(choice) => store.set({ backend: choice })}
          />
          <CopyLink origin={model?.origin ?? null} />
        </div>
      </header>
      <ModelSlot
        model={model}
        error={modelError}
        picker={<ModelPicker controller={picker} inUse={model ? model.name : null} />}
        linkPrompt={
          pendingLink && {
            name: pendingLink.name,
            id: pendingLink.ref.repo,
            sizeMb: findCatalogEntry(pendingLink.ref.repo)?.sizeMb ?? null,
            onDownload: () => void picker.download(pendingLink.ref),
            onStay: dismissPendingLink,
          }
        }
      />
      <Notices notices={notices} onDismiss={(id) => setNotices((ns) => ns.filter((n) => n.id !== id))} />
      <p
        className="run-status"
        aria-live="polite"
        data-testid="run-status"
        data-state={status}
        data-plan={result?.plan ?? ''}
        data-input={result?.inputKey ?? ''}
        data-backend={result?.backend ?? ''}
      >
        {running ? 'Running…' : result ? `Showing plan ${result.plan} on ${shown?.sourceName} (${result.backend}).` : 'Waiting for the model…'}
        {result && (
          <span className="muted">
            {' '}
            Tensors in memory: <span data-testid="tensor-count">{result.tensors}</span>.{' '}
            <span data-testid="gpu-memory">{gpuMemoryText(result.backend, result.gpuMemory)}</span>
          </span>
        )}
      </p>
      <main className="layout">
        <div className="controls">
          {player.lesson && player.shape && model && (
            <LessonPanel
              lesson={player.lesson}
              step={player.stepIndex}
              shape={player.shape}
              modelName={model.name}
              live={live}
              plan={plan}
              planNote={player.planNote}
              predictSlot={predictSlot}
              onStep={player.goStep}
              onPlan={applyPlan}
              onSample={onSample}
              onLayer={selectLayer}
              onExit={player.exit}
            />
          )}
          <ImagePanel
            selectedSample={source?.sampleId ?? null}
            onFile={image.showFile}
            onSample={onSample}
            error={image.error ?? prepared?.error ?? null}
            busy={image.busy}
            evalSet={evalSet}
            gallery={galleryFor(channels)}
          />
          {prepared?.input && config && (
            <ModelInputView
              input={prepared.input}
              image={prepared.image}
              patch={config.patch_size}
              sourceName={source?.name ?? ''}
              browserStep={source?.browserStep ?? null}
            />
          )}
          {plan && ctx && <PlanEditor plan={url.plan} depth={depth} onPlanText={(text) => store.set({ plan: text })} runError={runError} />}
          {plan && <LayerTimeline plan={plan} counts={counts} selectedLayer={layer} onPlan={applyPlan} />}
          {plan && <MethodPanel plan={plan} tokens={result?.trace.tokens ?? 64} onPlan={applyPlan} />}
        </div>
        <div className="results">
          {shown && views && geo && counts ? (
            <>
              {predictOpen ? (
                <section className="panel" data-testid="predict-pending">
                  <h2>Your guess first</h2>
                  <p>Mark the patches in the lesson panel and press Reveal: the fates of every block appear here then.</p>
                </section>
              ) : (
                <>
                  <TokenView views={views} image={shown.image} geo={geo} layer={layer} onSelectLayer={selectLayer} />
                  <DecisionView trace={shown.result.trace} views={views} image={shown.image} geo={geo} layer={layer} highlight={lessonStep?.highlight ?? null} />
                </>
              )}
              <TokenChart counts={counts} baseline={shown.result.baselineCounts} selectedLayer={layer} onSelectLayer={selectLayer} />
              {fid && (
                <NumbersPanel
                  flops={shown.result.flops}
                  baselineFlops={shown.result.baselineFlops}
                  fidelity={fid}
                  untrained={model?.untrained ?? false}
                  trueLabel={trueLabel}
                  timing={timing}
                  firstRunMs={shown.result.firstRunMs}
                  backend={shown.result.backend}
                />
              )}
              <LayerTable
                trace={shown.result.trace}
                flops={shown.result.flops}
                baselineCounts={shown.result.baselineCounts}
                baselineFlops={shown.result.baselineFlops}
                selectedLayer={layer}
                highlightSelected={lessonStep?.highlight === 'flops-row'}
              />
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
        Numbers are live: computed on this image in this browser. FLOPs follow the fvcore convention; latency is wall time on the named backend (software GPU
        adapters are not GPU timings).
      </footer>
    </div>
  );
}
