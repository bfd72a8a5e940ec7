/**
 * Two to four plans on the same image: each plan's patch grid at one block, chosen by one slider
 * for all of them, and per block how much their kept patches agree (IoU of the patches still
 * alone in their token; kept-iou.ts). The grids are the playground's FateGrid, fed by the same
 * lineage (fates.ts), so a patch looks the same here and there.
 */
import { useEffect, useMemo, useState } from 'react';
import type { PreprocessSpec } from '../../../io/preprocess';
import type { VitConfig } from '../../../model/config';
import type { GreyImages } from '../../../io/grey-images';
import { formatPlan, parsePlan } from '../../../reduce/plan';
import { errorMessage } from '../../error-message';
import { gridGeometry, layerViews } from '../../fates';
import { fidelity } from '../../fidelity';
import { findSample, galleryFor } from '../../gallery';
import { prepareInput, type ModelInput } from '../../image/preprocess';
import { type ImageSource, loadFile, loadSample } from '../../image/sources';
import { FATE_COLOUR, FATE_LABEL, GROUP_COLOURS } from '../../palette';
import { inputCanvas } from '../../views/draw-fates';
import { FateGrid } from '../../views/FateGrid';
import { ImagePanel } from '../../views/ImagePanel';
import { keptAgreement } from '../kept-iou';
import { playgroundHref, type PlaygroundLink } from '../rows';
import type { SideRuns } from '../use-compare';
import { MAX_SIDE_BY_SIDE } from '../url';
import { fmtKl } from './marks';

interface Props {
  config: VitConfig;
  /** The model's own preprocessing (ModelInfo.preprocess). */
  preprocess: PreprocessSpec;
  plans: string[];
  sample: string;
  layer: number;
  backend: string;
  /** Where plan links lead (the model in use). */
  link: PlaygroundLink;
  evalSet: GreyImages | null;
  onPlans(plans: string[]): void;
  onSample(id: string): void;
  onLayer(layer: number): void;
  requestTraces(input: { key: string; size: number; channels: number; pixels: Float32Array }, plans: string[]): Promise<SideRuns | { error: string } | null>;
}

const SLOT_NAMES = ['A', 'B', 'C', 'D'];
export function SideBySide({ config, preprocess, plans, sample, layer, backend, link, evalSet, onPlans, onSample, onLayer, requestTraces }: Props) {
  const depth = config.num_hidden_layers;
  const [texts, setTexts] = useState(plans);
  const [source, setSource] = useState<ImageSource | null>(null);
  const [imageError, setImageError] = useState<string | null>(null);
  const [runs, setRuns] = useState<SideRuns | null>(null);
  const [runError, setRunError] = useState<string | null>(null);

  useEffect(() => setTexts(plans), [plans]);

  useEffect(() => {
    const item = findSample(sample);
    if (!item) return;
    let alive = true;
    loadSample(item)
      .then((s) => alive && (setSource(s), setImageError(null)))
      .catch((e) => alive && setImageError(errorMessage(e)));
    return () => {
      alive = false;
    };
  }, [sample]);

  const preparedOrError = useMemo((): { input: ModelInput; image: HTMLCanvasElement } | { error: string } | null => {
    if (!source) return null;
    try {
      const input = prepareInput(source.rgba, preprocess);
      return { input, image: inputCanvas(input) };
    } catch (e) {
      return { error: errorMessage(e) };
    }
  }, [source, preprocess]);
  const prepared = preparedOrError && 'input' in preparedOrError ? preparedOrError : null;

  useEffect(() => {
    if (!prepared || !source) return;
    let alive = true;
    const { input } = prepared;
    void requestTraces({ key: source.key, size: input.size, channels: input.channels, pixels: input.pixels }, plans).then((r) => {
      if (!alive || !r) return;
      if ('error' in r) setRunError(r.error);
      else {
        setRuns(r);
        setRunError(null);
      }
    });
    return () => {
      alive = false;
    };
  }, [prepared, source, plans, requestTraces]);

  const editText = (i: number, text: string) => {
    const next = texts.map((t, j) => (j === i ? text : t));
    setTexts(next);
    const parsed = next.map((t) => parsePlan(t, depth));
    if (parsed.every((p) => p.ok)) onPlans(parsed.map((p) => formatPlan((p as { ok: true; value: Parameters<typeof formatPlan>[0] }).value)));
  };

  const shown = runs && source && runs.inputKey === source.key ? runs : null;
  const grid = config.image_size / config.patch_size;
  const geo = shown ? gridGeometry(shown.runs[0].trace, grid) : null;
  // `geo` is a new object every render: the memos key on the numbers it holds, not on its identity.
  /* eslint-disable react-hooks/exhaustive-deps */
  const views = useMemo(() => (shown && geo ? shown.runs.map((r) => layerViews(r.trace, geo)) : null), [shown, geo?.grid, geo?.firstPatch]);
  const agreement = useMemo(
    () =>
      shown && geo
        ? keptAgreement(
            shown.runs.map((r) => r.trace),
            geo.firstPatch,
          )
        : null,
    [shown, geo?.firstPatch],
  );
  /* eslint-enable react-hooks/exhaustive-deps */
  const cell = Math.max(6, Math.min(30, Math.floor(210 / grid)));
  const patches = grid * grid;

  return (
    <section className="panel" aria-labelledby="side-title">
      <h2 id="side-title">Side by side</h2>
      <p className="muted">
        The same image under {plans.length} plans, at the same block. <strong>Kept</strong> = a patch still alone in its token (not merged, fused or dropped); the
        table gives, per block, the intersection over union of two plans' kept patches (1 = they keep exactly the same patches). Live on this image, {backend}.
      </p>
      <div className="side-layout">
        <div className="side-controls">
          <fieldset>
            <legend>Plans (2–{MAX_SIDE_BY_SIDE})</legend>
            {texts.map((t, i) => {
              const p = parsePlan(t, depth);
              return (
                <div key={i} className="side-plan">
                  <label htmlFor={`side-plan-${i}`}>{SLOT_NAMES[i]}</label>
                  <input
                    id={`side-plan-${i}`}
                    className="plan-input"
                    value={t}
                    onChange={(e) => editText(i, e.target.value)}
                    aria-invalid={!p.ok}
                    data-testid={`side-plan-${i}`}
                    spellCheck={false}
                  />
                  <button
                    type="button"
                    onClick={() => onPlans(plans.filter((_, j) => j !== i))}
                    disabled={plans.length <= 2}
                    aria-label={`Remove plan ${SLOT_NAMES[i]}`}
                  >
                    ×
                  </button>
                  {!p.ok && <span className="field-error">{p.error.message}</span>}
                </div>
              );
            })}
            <button type="button" onClick={() => onPlans([...plans, 'none'])} disabled={plans.length >= MAX_SIDE_BY_SIDE}>
              Add a plan
            </button>
          </fieldset>
          <ImagePanel
            selectedSample={source?.sampleId ?? null}
            onFile={(f) => void loadFile(f).then(setSource, (e) => setImageError(errorMessage(e)))}
            onSample={onSample}
            error={imageError ?? (preparedOrError && 'error' in preparedOrError ? preparedOrError.error : null)}
            busy={false}
            evalSet={evalSet}
            gallery={galleryFor(config.num_channels)}
          />
        </div>
        <div className="side-results">
          <div className="run-row">
            <label htmlFor="side-layer">Block (all plans)</label>
            <button type="button" onClick={() => onLayer(Math.max(0, layer - 1))} disabled={layer === 0} aria-label="Previous block">
              ◀
            </button>
            <input
              id="side-layer"
              type="range"
              min={0}
              max={depth - 1}
              value={layer}
              onChange={(e) => onLayer(Number(e.target.value))}
              data-testid="layer-slider"
              aria-valuetext={`after block ${layer}`}
            />
            <button type="button" onClick={() => onLayer(Math.min(depth - 1, layer + 1))} disabled={layer === depth - 1} aria-label="Next block">
              ▶
            </button>
            <span aria-live="polite" data-testid="side-layer-label">
              after block {layer} of {depth - 1}
            </span>
          </div>
          {runError && (
            <p className="field-error" role="alert">
              {runError}
            </p>
          )}
          {shown && views && geo && prepared ? (
            <>
              <ul className="legend" aria-label="Legend">
                {(['kept', 'merged', 'fused', 'sampled', 'dropped'] as const).map((f) => (
                  <li key={f}>
                    <span
                      className="swatch"
                      style={f === 'merged' ? { background: `linear-gradient(90deg, ${GROUP_COLOURS.slice(0, 4).join(',')})` } : { background: FATE_COLOUR[f] }}
                      aria-hidden="true"
                    />
                    {FATE_LABEL[f]}
                  </li>
                ))}
              </ul>
              <ol className="side-grids" data-testid="side-grids">
                {shown.runs.map((r, i) => {
                  const v = views[i][layer];
                  const fid = fidelity(r.logits, shown.baselineLogits, config.id2label);
                  return (
                    <li key={i} data-testid={`side-grid-${i}`} data-plan={r.plan} data-tokens={v.nOut}>
                      <h3>
                        {SLOT_NAMES[i]}:{' '}
                        <a href={playgroundHref(r.plan, { ...link, sample: source?.sampleId ?? undefined })}>
                          <code>{r.plan}</code>
                        </a>
                      </h3>
                      <FateGrid image={prepared.image} view={v} geo={geo} cell={cell} label={`Plan ${SLOT_NAMES[i]} after block ${layer}: ${v.nOut} tokens`} />
                      <p className="small">
                        {v.nOut} tokens after block {layer}; {agreement!.kept[i][layer]} of {patches} patches kept
                        <br />
                        top-1 {fid.top[0].label} {fid.agree ? '(= unreduced)' : <span className="disagree">(unreduced: {fid.baselineTop[0].label})</span>}, KL{' '}
                        {fmtKl(fid.kl)}
                      </p>
                    </li>
                  );
                })}
              </ol>
              <div className="table-scroll">
                <table data-testid="iou-table">
                  <caption className="muted small">IoU of kept patches per block (text alternative of the grids; the selected block is highlighted)</caption>
                  <thead>
                    <tr>
                      <th scope="col">after block</th>
                      {shown.runs.map((_, i) => (
                        <th scope="col" key={`k${i}`}>
                          kept {SLOT_NAMES[i]}
                        </th>
                      ))}
                      {agreement!.pairs.map(([a, b]) => (
                        <th scope="col" key={`${a}${b}`}>
                          IoU {SLOT_NAMES[a]}–{SLOT_NAMES[b]}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {agreement!.iou.map((row, l) => (
                      <tr key={l} className={l === layer ? 'selected' : undefined} data-layer={l}>
                        <th scope="row">
                          <button type="button" className="linklike" onClick={() => onLayer(l)} aria-pressed={l === layer}>
                            {l}
                          </button>
                        </th>
                        {agreement!.kept.map((k, i) => (
                          <td key={`k${i}`}>{k[l]}</td>
                        ))}
                        {row.map((v, k) => (
                          <td key={k} data-testid={`iou-${l}-${k}`} data-value={String(v)}>
                            {v.toFixed(3)}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          ) : (
            <p className="muted">{source ? 'Running the plans on this image…' : 'Loading the image…'}</p>
          )}
        </div>
      </div>
    </section>
  );
}
