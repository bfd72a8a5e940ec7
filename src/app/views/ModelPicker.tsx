/**
 * ModelPicker: the model in use, and where another comes from — the catalog of pretrained hub
 * checkpoints (size and published accuracy shown before anything downloads), any hub id, local
 * files, or the bundled model. Shows download progress with a cancel button, errors in plain
 * words, and what the loader assumed (notes, preprocessing).
 *
 * The logic is a framework-free controller (createModelPickerController: state, subscribe,
 * download, cancel, loadFiles, useBundled) read through useSyncExternalStore; ModelPickerView is
 * the pure rendering of its state. The controller makes no tensors: it hands the files to the
 * host (`onModelLoaded`), which loads them in its engine worker and resolves with what the loader
 * noted, or rejects — then the picker shows why and the previous model keeps running.
 */
import { useEffect, useMemo, useRef, useState, useSyncExternalStore, type ChangeEvent } from 'react';
import { TokenScopeError } from '../../errors';
import { CATALOG, findCatalogEntry, parseHubId, type CatalogEntry, type HubModelRef } from '../../io/catalog';
import { MAX_CHECKPOINT_BYTES, readCheckpointFiles, type CheckpointFiles, type NamedBlob } from '../../io/checkpoint';
import { downloadHubFiles, offlineHubFiles, openBrowserCache, type ByteCache, type CatalogFile } from '../../io/hub';
import type { ModelOrigin } from '../worker/protocol';

export interface PickedModel {
  origin: ModelOrigin;
  /** Display name. */
  name: string;
  files: CheckpointFiles;
}

/** What the host's loader reports back for the picker to show. */
export interface LoadReport {
  name: string;
  notes: string[];
  preprocessing: string[];
}

export interface PickerState {
  status: 'idle' | 'downloading' | 'loading' | 'error';
  /** Repository being downloaded, when downloading. */
  repo: string | null;
  file: CatalogFile | null;
  receivedBytes: number;
  totalBytes: number | null;
  /** A plain-words message: the error, or "Download cancelled." */
  message: string | null;
  /** The last model handed over, with what the loader noted. */
  loaded: (LoadReport & { fromCache: boolean }) | null;
}

export interface PickerOptions {
  /** Loads the files (in the engine worker); rejects with the reason when they do not make a model. */
  onModelLoaded(picked: PickedModel): Promise<LoadReport>;
  /** Switches back to the bundled model. */
  onBundled(): Promise<LoadReport>;
  fetch?: typeof fetch;
  /** undefined: the browser's Cache Storage when available; null: no cache. */
  cache?: ByteCache | null;
  hubBase?: string;
}

export interface ModelPickerController {
  getState(): PickerState;
  subscribe(listener: () => void): () => void;
  /** Downloads a hub model (the cache first), then hands it over. */
  download(ref: HubModelRef): Promise<void>;
  /** Hands over a hub model only if every file is in the offline copy; false when it is not. */
  openOffline(ref: HubModelRef): Promise<boolean>;
  cancel(): void;
  loadFiles(files: readonly NamedBlob[]): Promise<void>;
  useBundled(): Promise<void>;
}

const INITIAL: PickerState = { status: 'idle', repo: null, file: null, receivedBytes: 0, totalBytes: null, message: null, loaded: null };

/** The name a hub model goes by: its catalog title, else its id. */
export const hubModelName = (ref: HubModelRef) => findCatalogEntry(ref.repo)?.title ?? ref.repo;

const clause = (s: string) => s.replace(/[\s.;:]+$/, '');

/** An error as a sentence for the page: what went wrong, then what to do. */
export function plainMessage(e: unknown): string {
  if (!(e instanceof TokenScopeError)) return `Something went wrong: ${clause(e instanceof Error ? e.message : String(e))}.`;
  switch (e.code) {
    case 'cancelled':
      return 'Download cancelled.';
    case 'download-failed':
      return `The download did not finish (${clause(e.message)}). Check the connection and try again.`;
    case 'data-missing':
      return `A file is missing: ${clause(e.message)}.`;
    case 'safetensors-malformed':
      return `This is not a readable .safetensors file: ${clause(e.message)}.`;
    case 'shape-mismatch':
      return `This checkpoint does not fit a ViT/DeiT: ${clause(e.message)}.`;
    case 'model-too-large':
      return `This model is too large here: ${clause(e.message)}.`;
    case 'data-malformed':
      return `A file is damaged or not what it claims to be: ${clause(e.message)}.`;
    default:
      return `${clause(e.message)}.`;
  }
}

export function createModelPickerController(options: PickerOptions): ModelPickerController {
  let state = INITIAL;
  const listeners = new Set<() => void>();
  let controller: AbortController | null = null;
  const set = (patch: Partial<PickerState>) => {
    state = { ...state, ...patch };
    listeners.forEach((l) => l());
  };
  const busy = () => state.status === 'downloading' || state.status === 'loading';
  const cache = async () => (options.cache === undefined ? await openBrowserCache() : (options.cache ?? undefined));

  /** Hands a model to the host; its answer (or its refusal) is what the picker shows. */
  const handOver = async (load: () => Promise<LoadReport>, fromCache: boolean) => {
    set({ status: 'loading', repo: null, file: null, message: null });
    try {
      const report = await load();
      set({ status: 'idle', message: null, loaded: { ...report, fromCache } });
    } catch (e) {
      set({ status: 'error', message: `${plainMessage(e)} The previous model is still in use.` });
    }
  };
  const hub = (ref: HubModelRef, files: CheckpointFiles, fromCache: boolean) =>
    handOver(() => options.onModelLoaded({ origin: { kind: 'hub', repo: ref.repo, revision: ref.revision, fromCache }, name: hubModelName(ref), files }), fromCache);

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async download(ref) {
      if (busy()) return;
      const abort = new AbortController();
      controller = abort;
      set({ status: 'downloading', repo: ref.repo, file: null, receivedBytes: 0, totalBytes: null, message: null });
      let result;
      try {
        result = await downloadHubFiles(ref, {
          fetch: options.fetch,
          cache: await cache(),
          hubBase: options.hubBase,
          signal: abort.signal,
          maxBytes: MAX_CHECKPOINT_BYTES,
          onProgress: (p) => {
            if (p.file === 'model.safetensors' || state.file !== 'model.safetensors') {
              set({ file: p.file, receivedBytes: p.receivedBytes, totalBytes: p.totalBytes });
            }
          },
        });
      } catch (e) {
        const cancelled = e instanceof TokenScopeError && e.code === 'cancelled';
        set({ status: cancelled ? 'idle' : 'error', repo: null, file: null, message: plainMessage(e) });
        return;
      } finally {
        if (controller === abort) controller = null;
      }
      await hub(ref, result.files, result.fromCache);
    },
    async openOffline(ref) {
      if (busy()) return false;
      const store = await cache();
      const result = store ? await offlineHubFiles(ref, { cache: store, hubBase: options.hubBase }).catch(() => null) : null;
      if (!result) return false;
      await hub(ref, result.files, true);
      return true;
    },
    cancel() {
      controller?.abort();
    },
    async loadFiles(picked) {
      if (busy() || picked.length === 0) return;
      set({ status: 'loading', repo: null, file: null, message: null });
      let files: CheckpointFiles;
      try {
        files = await readCheckpointFiles(picked);
      } catch (e) {
        set({ status: 'error', message: plainMessage(e) });
        return;
      }
      const names = picked.map((f) => f.name);
      const weights = names.find((n) => n.toLowerCase().endsWith('.safetensors')) ?? names[0];
      await handOver(() => options.onModelLoaded({ origin: { kind: 'files', names }, name: weights, files }), false);
    },
    async useBundled() {
      if (busy()) return;
      await handOver(() => options.onBundled(), false);
    },
  };
}

/** The picker's controller for a component's life (cancels a running download when unmounted). */
export function useModelPickerController(options: PickerOptions): ModelPickerController {
  const latest = useRef(options);
  latest.current = options;
  const controller = useMemo(
    () =>
      createModelPickerController({
        onModelLoaded: (p) => latest.current.onModelLoaded(p),
        onBundled: () => latest.current.onBundled(),
        fetch: options.fetch,
        cache: options.cache,
        hubBase: options.hubBase,
      }),
    // The transport is fixed for the component's life; the callbacks are read through the ref.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );
  useEffect(() => () => controller.cancel(), [controller]);
  return controller;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export interface ModelPickerViewProps {
  state: PickerState;
  catalog: readonly CatalogEntry[];
  /** The model in use, in words (name and source); null while none has loaded. */
  inUse: string | null;
  onDownload(ref: HubModelRef): void;
  onCancel(): void;
  onFiles(files: NamedBlob[]): void;
  onBundled(): void;
}

/** The picker's markup for a given state (pure, but for the hub-id field's text). */
export function ModelPickerView({ state, catalog, inUse, onDownload, onCancel, onFiles, onBundled }: ModelPickerViewProps) {
  const busy = state.status === 'downloading' || state.status === 'loading';
  const total = state.totalBytes;
  const pct = total ? Math.floor((100 * state.receivedBytes) / total) : null;
  const [hubId, setHubId] = useState('');
  const [hubIdError, setHubIdError] = useState<string | null>(null);
  const submitHubId = () => {
    const ref = parseHubId(hubId);
    setHubIdError(ref ? null : `“${hubId.slice(0, 60)}” is not a hub id: write owner/name, optionally @revision (for example facebook/deit-tiny-patch16-224).`);
    if (ref) onDownload(ref);
  };
  return (
    <details className="model-picker" data-testid="model-picker" open={state.status !== 'idle' || undefined}>
      <summary>Choose a model{inUse ? <span className="muted"> — in use: {inUse}</span> : null}</summary>
      <div className="model-picker-body">
        <section aria-labelledby="mp-hub-title">
          <h3 id="mp-hub-title">Pretrained on ImageNet-1k (Hugging Face hub)</h3>
          <ul className="model-picker-catalog">
            {catalog.map((e) => (
              <li key={e.repo}>
                <button type="button" onClick={() => onDownload(e)} disabled={busy} aria-describedby={`mp-${e.repo}`} data-testid={`hub-${e.repo}`}>
                  {e.title}
                </button>{' '}
                <span className="model-picker-size">{e.sizeMb} MB</span>
                {' · '}
                <span className="model-picker-acc" title={`Source: ${e.top1Source}`}>
                  ImageNet top-1 {e.top1.toFixed(1)} % (published)
                </span>
                <p id={`mp-${e.repo}`} className="model-picker-desc">
                  {e.description} <small>{e.repo}</small>
                </p>
              </li>
            ))}
          </ul>
          <form
            className="model-picker-hub-id"
            onSubmit={(ev) => {
              ev.preventDefault();
              submitHubId();
            }}
          >
            <label>
              Another hub model (ViT or DeiT with model.safetensors):{' '}
              <input
                type="text"
                value={hubId}
                placeholder="owner/name[@revision]"
                onChange={(ev) => setHubId(ev.target.value)}
                data-testid="hub-id"
                disabled={busy}
                spellCheck={false}
              />
            </label>{' '}
            <button type="submit" disabled={busy || hubId.trim() === ''}>
              Download
            </button>
            {hubIdError && (
              <span className="field-error" role="alert">
                {' '}
                {hubIdError}
              </span>
            )}
          </form>
        </section>
        <section aria-labelledby="mp-files-title">
          <h3 id="mp-files-title">From files</h3>
          <label>
            A .safetensors checkpoint (timm, Hugging Face ViT or DeiT), optionally with its config.json and preprocessor_config.json:{' '}
            <input
              type="file"
              multiple
              accept=".safetensors,.json"
              disabled={busy}
              data-testid="model-files"
              onChange={(ev: ChangeEvent<HTMLInputElement>) => {
                const files = ev.target.files ? Array.from(ev.target.files) : [];
                ev.target.value = '';
                onFiles(files);
              }}
            />
          </label>
        </section>
        <section aria-labelledby="mp-bundled-title">
          <h3 id="mp-bundled-title">Bundled</h3>
          <button type="button" onClick={onBundled} disabled={busy} data-testid="model-bundled">
            fmnist-vit
          </button>{' '}
          <span className="muted">the Fashion-MNIST ViT TokenScope trains and ships (28×28 grey, 6 blocks, 0.2 M parameters): works offline, no download</span>
        </section>
        {state.status === 'downloading' && (
          <div className="model-picker-progress" role="status">
            <span>
              Downloading {state.repo} {state.file ? `(${state.file})` : ''}: {mb(state.receivedBytes)}
              {total !== null ? ` of ${mb(total)} MB (${pct} %)` : ' MB'}
            </span>
            <progress value={state.receivedBytes} max={total ?? undefined} aria-label="Download progress" />
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
          </div>
        )}
        {state.status === 'loading' && <p role="status">Reading the checkpoint…</p>}
        {state.message && (
          <p
            className={state.status === 'error' ? 'model-picker-error' : 'model-picker-message'}
            role={state.status === 'error' ? 'alert' : 'status'}
            data-testid="model-picker-message"
          >
            {state.message}
          </p>
        )}
        {state.loaded && (
          <div className="model-picker-loaded" role="status">
            <p>
              Loaded {state.loaded.name}
              {state.loaded.fromCache ? ' (from the offline copy)' : ''}.
            </p>
            <ul>
              {state.loaded.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
            <p>Preprocessing:</p>
            <ol>
              {state.loaded.preprocessing.map((s) => (
                <li key={s}>{s}</li>
              ))}
            </ol>
          </div>
        )}
      </div>
    </details>
  );
}

export interface ModelPickerProps {
  controller: ModelPickerController;
  inUse: string | null;
  /** Entries to offer (default: the whole catalog). */
  catalog?: readonly CatalogEntry[];
}

/** The picker, wired to a controller the page owns (so a link can start a download through it). */
export function ModelPicker({ controller, inUse, catalog = CATALOG }: ModelPickerProps) {
  const state = useSyncExternalStore(controller.subscribe, controller.getState, controller.getState);
  return (
    <ModelPickerView
      state={state}
      catalog={catalog}
      inUse={inUse}
      onDownload={(ref) => void controller.download(ref)}
      onCancel={() => controller.cancel()}
      onFiles={(files) => void controller.loadFiles(files)}
      onBundled={() => void controller.useBundled()}
    />
  );
}
