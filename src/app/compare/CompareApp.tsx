/**
 * The compare page: methods against each other on accuracy and cost. Layout only — useCompare runs
 * the worker; each view gets its slice as props. Every live number names its source (the bundled
 * set or the user's images, with the image count, the model and the backend); published DeiT
 * figures stay in their own reference table.
 */
import { useEffect, useRef, useState } from 'react';
import type { GreyImages } from '../../io/grey-images';
import { formatPlan, planFromText } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';
import { findCatalogEntry } from '../../io/catalog';
import { loadEvalSet } from '../image/sources';
import { hubBase } from '../model/hub-base';
import { describeOrigin } from '../model/origin';
import { BackendPanel } from '../views/BackendPanel';
import { CopyLink } from '../views/CopyLink';
import { ModelPicker, useModelPickerController } from '../views/ModelPicker';
import { ModelSlot } from '../views/ModelSlot';
import { download } from '../views/ExportPanel';
import { Notices } from '../views/Notices';
import { sweepCsv, sweepJson, svgText, svgToPng } from './export';
import type { SweepResult } from './protocol';
import { budgetGflops, cliCommand, type Metric, parseBudget, provenance } from './rows';
import { bundledData, useCompare } from './use-compare';
import { CompareLessonPanel } from '../lessons/CompareLessonPanel';
import { splitSlots } from '../lessons/live';
import { findCompareLesson, paretoLive } from '../lessons/pareto';
import { BudgetPanel } from './views/BudgetPanel';
import { ParetoPlot } from './views/ParetoPlot';
import { ReferencePanel } from './views/ReferencePanel';
import { RunControls } from './views/RunControls';
import { SideBySide } from './views/SideBySide';
import { SweepTable } from './views/SweepTable';
import { UserImagesPanel } from './views/UserImagesPanel';

/** Two contrasting defaults for the side-by-side view: merging against pruning. */
function defaultSidePlans(depth: number): string[] {
  return (['tome', 'topk'] as MethodId[]).map((m) => formatPlan(planFromText(m, depth)));
}

const stem = (r: SweepResult) => `tokenscope-${r.kind}-${r.data.kind === 'bundled' ? `bundled-${r.data.n}` : `your-images-${r.data.n}`}`;

export function CompareApp() {
  const c = useCompare();
  const { state, store, model } = c;
  const picker = useModelPickerController({ onModelLoaded: c.onModelPicked, onBundled: c.onBundled, hubBase: hubBase() });
  // The bundled evaluation set is Fashion-MNIST: it fits the bundled model only.
  const bundledModel = !model || model.info.origin.kind === 'bundled' || model.info.origin.kind === 'random';
  const svgRef = useRef<SVGSVGElement>(null);
  const [evalSet, setEvalSet] = useState<GreyImages | null>(null);

  useEffect(() => {
    let alive = true;
    loadEvalSet()
      .then((s) => alive && setEvalSet(s))
      .catch(() => {});
    return () => {
      alive = false;
    };
  }, []);

  const config = model?.info.config ?? null;
  const depth = config?.num_hidden_layers ?? 0;
  const result = c.results[c.shown] ?? null;
  const labelled = result?.data.labelled ?? true;
  const metric: Metric = state.y === 'accuracy' && !labelled ? 'agreement' : state.y;
  const backendName = c.backend.report?.active ?? 'auto';
  const budgetLine = c.budget?.budget && result && c.budget.data.key === result.data.key ? c.budget.budget.gflops : null;
  const parsedBudget = parseBudget(state.budget);
  const previewBudget = budgetLine ?? (parsedBudget.ok && result ? budgetGflops(parsedBudget.value, result.rows[0].gflops) : null);
  const sidePlans = state.plans.length >= 2 ? state.plans : depth ? defaultSidePlans(depth) : [];
  const layer = Math.min(state.layer ?? depth - 1, Math.max(0, depth - 1));
  const busy = c.running !== null;
  const cli = result ? cliCommand(result) : null;
  const link = { backend: state.backend, model: state.model };
  const lesson = findCompareLesson(state.lesson);
  const lessonStep = lesson ? Math.min(Math.max(0, state.step - 1), lesson.steps.length - 1) : 0;
  const lessonLive = lesson && result ? paretoLive(lesson.steps[lessonStep], result, metric) : null;
  const lessonMissing = lesson
    ? splitSlots(lesson.steps[lessonStep].text).flatMap((p) => ('slot' in p && lessonLive && !(p.slot in lessonLive.values) ? [p.slot] : []))
    : [];

  const exportCsv = () => result && download(`${stem(result)}.csv`, new Blob([sweepCsv(result)], { type: 'text/csv' }));
  const exportJson = () => result && download(`${stem(result)}.json`, new Blob([sweepJson(result)], { type: 'application/json' }));
  const exportSvg = () => result && svgRef.current && download(`${stem(result)}.svg`, new Blob([svgText(svgRef.current)], { type: 'image/svg+xml' }));
  const exportPng = () => {
    if (result && svgRef.current) void svgToPng(svgRef.current).then((b) => download(`${stem(result)}.png`, b));
  };

  return (
    <div className="app compare">
      <header className="app-header">
        <div>
          <h1>TokenScope · Compare methods</h1>
          <p className="tagline">
            Accuracy against cost for every token-reduction method, at equal budgets and side by side. <a href="index.html">Back to the playground</a>
          </p>
        </div>
        <div className="header-tools">
          <BackendPanel
            choice={state.backend}
            report={c.backend.report}
            error={c.backend.error}
            busy={c.backend.busy || busy}
            onChoice={(choice) => void c.chooseBackend(choice)}
          />
          <CopyLink origin={model?.info.origin ?? null} />
        </div>
      </header>
      <ModelSlot
        model={model?.info ?? null}
        error={c.modelError}
        picker={<ModelPicker controller={picker} inUse={model ? model.info.name : null} />}
        linkPrompt={
          c.pendingLink && {
            name: c.pendingLink.name,
            id: c.pendingLink.ref.repo,
            sizeMb: findCatalogEntry(c.pendingLink.ref.repo)?.sizeMb ?? null,
            onDownload: () => void picker.download(c.pendingLink!.ref),
            onStay: c.dismissPendingLink,
          }
        }
      />
      {model && (
        <section aria-label="Model details">
          <p className="muted small" data-testid="model-line">
            Scores are cached by the model's content hash <code title={model.hash}>{model.hash.slice(0, 19)}…</code> ({describeOrigin(model.info.origin)}).{' '}
            {model.info.untrained ? (
              <strong className="untrained" data-testid="untrained">
                Untrained stand-in (random weights): accuracy is chance level; agreement and KL still show how far each plan strays from the unreduced model.
              </strong>
            ) : (
              <span data-testid="trained">Trained weights.</span>
            )}
          </p>
        </section>
      )}
      <Notices notices={c.notices} onDismiss={c.dismissNotice} />

      <main className="compare-main">
        {lesson && (
          <CompareLessonPanel
            lesson={lesson}
            step={lessonStep}
            live={lessonLive?.values ?? null}
            missing={lessonMissing}
            onStep={(i) => store.set({ step: i + 1 })}
            onExit={() => store.set({ lesson: null, step: 1 })}
          />
        )}
        <section className="panel" aria-labelledby="pareto-title">
          <h2 id="pareto-title">Accuracy against FLOPs</h2>
          <p className="muted">
            Every point is live: the plan evaluated in this browser by the same loop as <code>tokenscope sweep</code> (src/measure/evaluate.ts), against the
            unreduced model, on the images named above the plot. Results are cached per model, images, backend and plan. Hover or focus a point for its numbers;
            click it to open the plan in the playground.
          </p>
          <RunControls
            methods={state.methods}
            images={state.n}
            metric={metric}
            labelled={labelled}
            running={c.running}
            message={c.runMessage}
            status={c.status}
            disabled={!model || !bundledModel}
            onMethods={(methods) => store.set({ methods })}
            onImages={(n) => store.set({ n })}
            onMetric={(y) => store.set({ y })}
            onRun={() => void c.evaluate('sweep', bundledData(state.n))}
            onCancel={c.cancel}
          />
          {c.results.bundled && c.results.images && (
            <fieldset className="run-row">
              <legend>Show</legend>
              {(['bundled', 'images'] as const).map((k) => (
                <label key={k}>
                  <input type="radio" name="shown" checked={c.shown === k} onChange={() => c.setShown(k)} data-testid={`show-${k}`} />{' '}
                  {provenance(c.results[k]!.data)}
                </label>
              ))}
            </fieldset>
          )}
          {!bundledModel && model && (
            <p className="notice info" data-testid="bundled-set-unavailable">
              The bundled evaluation set is 28×28 Fashion-MNIST: it fits only the bundled model. To compare methods on {model.info.name}, evaluate a folder of your
              images below — one sub-folder per class, named like the model's labels, gives accuracy; loose images give agreement and KL.
            </p>
          )}
          {result ? (
            <>
              <p className="provenance" data-testid="plot-provenance" data-kind={result.data.kind} data-n={result.data.n}>
                Showing: <strong>{provenance(result.data)}</strong>, {result.model.name}, {result.backend}, batches of {result.batch};{' '}
                {result.evaluated ? `${result.evaluated} plan(s) evaluated in ${(result.elapsedMs / 1000).toFixed(1)} s` : 'nothing evaluated'}
                {result.fromCache ? `, ${result.fromCache} from the cache` : ''}.
              </p>
              <ParetoPlot result={result} metric={metric} budgetGflops={previewBudget} link={link} svgRef={svgRef} highlighted={lessonLive?.highlighted ?? []} />
              <div className="export-buttons" role="group" aria-label="Export the sweep">
                <button type="button" onClick={exportCsv} data-testid="export-csv">
                  Sweep (CSV)
                </button>
                <button type="button" onClick={exportJson} data-testid="export-json">
                  Sweep (JSON)
                </button>
                <button type="button" onClick={exportSvg} data-testid="export-svg">
                  Plot (SVG)
                </button>
                <button type="button" onClick={exportPng} data-testid="export-png">
                  Plot (PNG)
                </button>
              </div>
              {cli && (
                <p className="muted small">
                  The same points from the command line: <code data-testid="cli-twin">{cli}</code>
                </p>
              )}
              <details open>
                <summary>Every point as a table</summary>
                <SweepTable
                  result={result}
                  metric={metric}
                  link={link}
                  caption={`${provenance(result.data)}; ★ = on the Pareto front for ${metric}`}
                  testId="sweep-table"
                />
              </details>
            </>
          ) : (
            <p className="muted">{model ? 'The first sweep appears here when it finishes.' : ''}</p>
          )}
        </section>

        <BudgetPanel
          initial={state.budget}
          result={c.budget}
          busy={busy}
          disabled={!model || !bundledModel}
          link={link}
          onSolve={(text) => {
            store.set({ budget: text.trim() });
            void c.evaluate('budget', bundledData(state.n), text);
          }}
          onSideBySide={(plans) => store.set({ plans: plans.length >= 2 ? plans : [...plans, 'none'] })}
        />

        {config && sidePlans.length >= 2 && (
          <SideBySide
            key={model!.hash} // a new model starts the view afresh: old traces have another depth
            config={config}
            preprocess={model!.info.preprocess}
            plans={sidePlans}
            sample={state.sample}
            layer={layer}
            backend={backendName}
            link={link}
            evalSet={evalSet}
            onPlans={(plans) => store.set({ plans })}
            onSample={(sample) => store.set({ sample })}
            onLayer={(l) => store.set({ layer: l })}
            requestTraces={c.requestTraces}
          />
        )}

        {config && model && (
          <UserImagesPanel config={config} preprocess={model.info.preprocess} disabled={busy} onEvaluate={(data) => void c.evaluate('sweep', data)} />
        )}

        <ReferencePanel />
      </main>
      <footer className="muted small">
        Where numbers come from: “live on the bundled set (N images)” — the first N of 1,000 Fashion-MNIST test images (100 per class) shipped with the site; “live
        on your images” — what you picked, here in this browser. GFLOPs follow the fvcore convention (one multiply-add = 1, LayerNorm counted), from the token counts
        each forward produced; a method's own matching work is counted apart. Published DeiT figures appear only in the reference table.
      </footer>
    </div>
  );
}
