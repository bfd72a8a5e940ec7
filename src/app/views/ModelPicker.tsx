/**
 * ModelPicker: choose a pretrained checkpoint from the catalog (size and published accuracy shown
 * before anything downloads) or load one from local files. Shows download progress with a cancel
 * button, errors in plain words, and what the loader assumed (notes, preprocessing).
 *
 * Self-contained: mount it anywhere with an `onModelLoaded` callback. The logic is a framework-free
 * controller (createModelPickerController: state, subscribe, download, cancel, loadFiles) read
 * through useSyncExternalStore; ModelPickerView is the pure rendering of its state.
 *
 * The result hands over both the loaded checkpoint (tensors on this thread's TF.js backend; the
 * receiver disposes them with disposeCheckpoint) and the raw files, so a host that runs the engine
 * in a worker can post the bytes there instead.
 */
import { useEffect, useMemo, useRef, useSyncExternalStore, type ChangeEvent } from 'react';
import { TokenScopeError } from '../../errors';
import { CATALOG, type CatalogEntry } from '../../io/catalog';
import { loadCheckpoint, readCheckpointFiles, type CheckpointFiles, type LoadedCheckpoint, type NamedBlob } from '../../io/checkpoint';
import { downloadCatalogModel, openBrowserCache, type ByteCache, type CatalogFile } from '../../io/hub';
import { describePreprocess } from '../../io/preprocess';

export type PickedSource = { kind: 'catalog'; repo: string; revision: string } | { kind: 'files'; names: string[] };

export interface PickedModel {
  source: PickedSource;
  /** Display name. */
  name: string;
  files: CheckpointFiles;
  checkpoint: LoadedCheckpoint;
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
  loaded: { name: string; notes: string[]; preprocessing: string[]; fromCache: boolean } | null;
}

export interface PickerOptions {
  onModelLoaded(result: PickedModel): void;
  fetch?: typeof fetch;
  /** undefined: the browser's Cache Storage when available; null: no cache. */
  cache?: ByteCache | null;
  hubBase?: string;
}

export interface ModelPickerController {
  getState(): PickerState;
  subscribe(listener: () => void): () => void;
  download(entry: CatalogEntry): Promise<void>;
  cancel(): void;
  loadFiles(files: readonly NamedBlob[]): Promise<void>;
}

const INITIAL: PickerState = { status: 'idle', repo: null, file: null, receivedBytes: 0, totalBytes: null, message: null, loaded: null };

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

  const handOver = (picked: PickedModel, fromCache: boolean) => {
    set({
      status: 'idle', repo: null, file: null, message: null,
      loaded: { name: picked.name, notes: picked.checkpoint.notes, preprocessing: describePreprocess(picked.checkpoint.preprocess), fromCache },
    });
    options.onModelLoaded(picked);
  };

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async download(entry) {
      if (busy()) return;
      const abort = new AbortController();
      controller = abort;
      set({ status: 'downloading', repo: entry.repo, file: null, receivedBytes: 0, totalBytes: null, message: null });
      try {
        const cache = options.cache === undefined ? await openBrowserCache() : (options.cache ?? undefined);
        const result = await downloadCatalogModel(entry, {
          fetch: options.fetch, cache, hubBase: options.hubBase, signal: abort.signal,
          onProgress: (p) => {
            if (p.file === 'model.safetensors' || state.file !== 'model.safetensors') {
              set({ file: p.file, receivedBytes: p.receivedBytes, totalBytes: p.totalBytes });
            }
          },
        });
        handOver({ source: { kind: 'catalog', repo: entry.repo, revision: entry.revision }, name: entry.title, files: result.files, checkpoint: result.checkpoint }, result.fromCache);
      } catch (e) {
        const cancelled = e instanceof TokenScopeError && e.code === 'cancelled';
        set({ status: cancelled ? 'idle' : 'error', repo: null, file: null, message: plainMessage(e) });
      } finally {
        if (controller === abort) controller = null;
      }
    },
    cancel() {
      controller?.abort();
    },
    async loadFiles(picked) {
      if (busy() || picked.length === 0) return;
      set({ status: 'loading', repo: null, file: null, message: null });
      try {
        const files = await readCheckpointFiles(picked);
        const checkpoint = loadCheckpoint(files);
        const names = picked.map((f) => f.name);
        const weights = names.find((n) => n.toLowerCase().endsWith('.safetensors')) ?? names[0];
        handOver({ source: { kind: 'files', names }, name: weights, files, checkpoint }, false);
      } catch (e) {
        set({ status: 'error', message: plainMessage(e) });
      }
    },
  };
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export interface ModelPickerViewProps {
  state: PickerState;
  catalog: readonly CatalogEntry[];
  onDownload(entry: CatalogEntry): void;
  onCancel(): void;
  onFiles(files: NamedBlob[]): void;
}

/** The picker's markup for a given state (pure; no effects). */
export function ModelPickerView({ state, catalog, onDownload, onCancel, onFiles }: ModelPickerViewProps) {
  const busy = state.status === 'downloading' || state.status === 'loading';
  const total = state.totalBytes;
  const pct = total ? Math.floor((100 * state.receivedBytes) / total) : null;
  return (
    <section className="model-picker" aria-label="Choose a model">
      <h2>Pretrained models</h2>
      <ul className="model-picker-catalog">
        {catalog.map((e) => (
          <li key={e.repo}>
            <button type="button" onClick={() => onDownload(e)} disabled={busy} aria-describedby={`mp-${e.repo}`}>
              {e.title}
            </button>{' '}
            <span className="model-picker-size">{e.sizeMb} MB</span>{' · '}
            <span className="model-picker-acc" title={`Source: ${e.top1Source}`}>
              ImageNet top-1 {e.top1.toFixed(1)} % (published)
            </span>
            <p id={`mp-${e.repo}`} className="model-picker-desc">
              {e.description} <small>{e.repo}</small>
            </p>
          </li>
        ))}
      </ul>
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
        <p className={state.status === 'error' ? 'model-picker-error' : 'model-picker-message'} role={state.status === 'error' ? 'alert' : 'status'}>
          {state.message}
        </p>
      )}
      <h3>Or load from files</h3>
      <label>
        A .safetensors checkpoint (timm, Hugging Face ViT or DeiT), optionally with its config.json and preprocessor_config.json:{' '}
        <input
          type="file"
          multiple
          accept=".safetensors,.json"
          disabled={busy}
          onChange={(ev: ChangeEvent<HTMLInputElement>) => {
            const files = ev.target.files ? Array.from(ev.target.files) : [];
            ev.target.value = '';
            onFiles(files);
          }}
        />
      </label>
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
    </section>
  );
}

export interface ModelPickerProps extends PickerOptions {
  /** Entries to offer (default: the whole catalog). */
  catalog?: readonly CatalogEntry[];
}

/** The picker, wired to its controller. Cancels a running download when unmounted. */
export function ModelPicker({ catalog = CATALOG, ...options }: ModelPickerProps) {
  const latest = useRef(options);
  latest.current = options;
  const controller = useMemo(
    () => createModelPickerController({
      onModelLoaded: (r) => latest.current.onModelLoaded(r),
      fetch: options.fetch, cache: options.cache, hubBase: options.hubBase,
    }),
    // The transport is fixed for the component's life; the callback is read through the ref.
    [],
  );
  const state = useSyncExternalStore(controller.subscribe, controller.getState, controller.getState);
  useEffect(() => () => controller.cancel(), [controller]);
  return (
    <ModelPickerView
      state={state}
      catalog={catalog}
      onDownload={(e) => void controller.download(e)}
      onCancel={() => controller.cancel()}
      onFiles={(files) => void controller.loadFiles(files)}
    />
  );
}
