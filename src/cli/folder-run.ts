/**
 * `eval`/`sweep` on an ImageFolder: lists and labels the folder, takes this shard's fixed share of
 * the sorted list, skips what the results file already holds, spreads the remaining groups of
 * images over worker threads, appends each group's records as it finishes, and reads the file
 * back for the summary. A run killed at any moment resumes from the file: whole lines are kept,
 * a torn last line is cut off, and a group is rerun whole (so its images meet the same neighbours)
 * with only its missing records written.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { TokenScopeError } from '../errors';
import { disposeCheckpoint, loadCheckpoint } from '../io/checkpoint';
import type { LabelRule } from '../io/image-folder';
import { type LabelledFile, readImageFolder } from '../io/image-folder-node';
import type { ImageRecord } from '../measure/image-records';
import { formatLine, headerDifferences, RESULTS_KIND, RESULTS_VERSION, type ResultsHeader, type Shard, shardGroups } from '../measure/results';
import { useBackend } from '../model/backend';
import { formatPlan, planFromText } from '../reduce/plan';
import { FolderScorer, type ScoredGroup, type ScorerSetup } from './folder-scorer';
import { readLocalCheckpoint } from './predict';
import { readResultsFile } from './results-file';
import { formatDuration } from './progress';

export interface FolderRunOptions {
  /** A model directory or .safetensors file on this machine. */
  modelPath: string;
  /** How the model was named on the command line (a path or a hub id), for the header. */
  modelName: string;
  configPath?: string;
  data: string;
  labels: LabelRule;
  /** Plan texts besides the unreduced model. */
  plans: string[];
  batch: number;
  limit?: number;
  shard: Shard;
  out?: string;
  workers: number;
  /** Progress lines go here (stderr). */
  log?: (line: string) => void;
}

export interface FolderRunResult {
  header: ResultsHeader;
  records: ImageRecord[];
  /** Non-image and hidden files left out of the listing, with why. */
  skipped: { path: string; reason: string }[];
}

export const defaultWorkers = () => Math.max(1, cpus().length);

/** A usage error: bad flags or data, exit status 2. */
export function usageError(e: unknown): boolean {
  const code = (e as TokenScopeError).code;
  return e instanceof TokenScopeError && ['param-out-of-range', 'data-missing', 'data-malformed', 'shape-mismatch', 'plan-invalid'].includes(code);
}

/** Whether `dir` is an ImageFolder rather than a folder of Fashion-MNIST IDX files. */
export function isImageFolder(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  return !['t10k-images-idx3-ubyte', 't10k-images-idx3-ubyte.gz'].some((f) => existsSync(join(dir, f)));
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

interface Group {
  index: number;
  files: LabelledFile[];
}

interface Executor {
  run(group: Group): Promise<ScoredGroup>;
  close(): Promise<void>;
  readonly size: number;
}

async function inProcess(setup: ScorerSetup): Promise<Executor> {
  const scorer = await FolderScorer.create(setup);
  return { size: 1, run: (g) => scorer.score(g.files), close: async () => scorer.dispose() };
}

/** N worker threads, each with its own scorer; a group goes to whichever is free. */
async function workerPool(setup: ScorerSetup, n: number): Promise<Executor & { runOn(worker: number, group: Group): Promise<ScoredGroup> }> {
  const entry = new URL('./eval-worker.mjs', import.meta.url);
  const workers = Array.from({ length: n }, () => new Worker(entry, { workerData: setup }));
  const pending = new Map<number, { resolve: (g: ScoredGroup) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  await Promise.all(
    workers.map(
      (w, i) =>
        new Promise<void>((ok, fail) => {
          w.once('error', fail);
          w.once('message', (m: { ready?: true; failed?: string }) =>
            m.ready ? ok() : fail(new TokenScopeError('internal', `worker ${i} failed to start: ${m.failed}`)),
          );
        }),
    ),
  );
  for (const w of workers) {
    w.on('message', (m: { id: number; group?: ScoredGroup; error?: string }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.group) p.resolve(m.group);
      else p.reject(new TokenScopeError('internal', `worker: ${m.error}`));
    });
    w.on('error', (e) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  }
  const runOn = (worker: number, group: Group) =>
    new Promise<ScoredGroup>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      workers[worker].postMessage({ id, files: group.files });
    });
  return {
    size: n,
    runOn,
    run: (g) => runOn(0, g),
    // Ending the threads frees their backends and models; a thread that already died is fine too.
    close: async () => void (await Promise.all(workers.map((w) => w.terminate()))),
  };
}

/** The model's config (for labels and plan depth) and the content hash of its weights. */
async function describeModel(modelPath: string, configPath?: string) {
  await useBackend('wasm');
  const files = readLocalCheckpoint(modelPath, configPath);
  const loaded = loadCheckpoint(files);
  disposeCheckpoint(loaded);
  return { config: loaded.config, sha256: sha256(files.safetensors) };
}

export async function runFolder(o: FolderRunOptions): Promise<FolderRunResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { config, sha256: modelHash } = await describeModel(o.modelPath, o.configPath);
  const depth = config.num_hidden_layers;
  const plans = ['none', ...new Set(o.plans.map((p) => formatPlan(planFromText(p, depth))).filter((p) => p !== 'none'))];

  const root = resolve(o.data);
  let listed;
  try {
    listed = readImageFolder(root, config.id2label, o.labels);
  } catch (e) {
    const err = e as TokenScopeError;
    if (o.labels === 'names' && err.details?.unknown) {
      throw new TokenScopeError(
        err.code,
        `${err.message}\nFor folders named by index (ImageNet's WNIDs n01440764, …), add --labels sorted (torchvision's ImageFolder order).`,
        err.details,
      );
    }
    throw e;
  }
  const all = listed.files.slice(0, o.limit ?? listed.files.length);
  const groups = Math.ceil(all.length / o.batch);
  const [g0, g1] = shardGroups(groups, o.shard);
  const mine = all.slice(g0 * o.batch, Math.min(g1 * o.batch, all.length));
  const header: ResultsHeader = {
    tokenscope: RESULTS_KIND,
    version: RESULTS_VERSION,
    model: { sha256: modelHash, source: o.modelName },
    data: { root, listing_sha256: sha256(all.map((f) => `${f.file}\t${f.label}\n`).join('')), files: all.length, labels: listed.labelled ? o.labels : 'none' },
    plans,
    batch: o.batch,
    limit: o.limit ?? null,
    shard: { k: o.shard.k, n: o.shard.n, files: mine.length },
  };

  const scratch = o.out ? undefined : mkdtempSync(join(tmpdir(), 'tokenscope-eval-'));
  const out = o.out ?? join(scratch!, 'results.jsonl');
  try {
    const done = new Set<string>();
    if (existsSync(out) && statSync(out).size > 0) {
      const previous = readResultsFile(out);
      const diffs = headerDifferences(previous.header, header, { shard: true });
      if (diffs.length) {
        throw new TokenScopeError(
          'data-malformed',
          `${out} was written for another run (${diffs.join('; ')}); give another --out file, or delete it to start again`,
          { path: out },
        );
      }
      if (previous.torn) {
        truncateSync(out, previous.goodBytes);
        log(`${out}: dropped a torn last line; its image is redone`);
      }
      for (const r of previous.records) done.add(r.file);
      if (done.size) log(`${out}: resuming, ${done.size} of ${mine.length} images already done`);
    } else {
      writeFileSync(out, formatLine(header));
    }

    const todo: Group[] = [];
    for (let g = g0; g < g1; g++) {
      const files = all.slice(g * o.batch, Math.min((g + 1) * o.batch, all.length));
      if (files.some((f) => !done.has(f.file))) todo.push({ index: g, files });
    }
    if (todo.length) await execute(o, { modelPath: o.modelPath, configPath: o.configPath, root, plans }, todo, done, out, mine.length, log);
    const final = readResultsFile(out);
    return { header, records: final.records, skipped: listed.skipped };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

async function execute(
  o: FolderRunOptions,
  setup: ScorerSetup,
  todo: Group[],
  done: Set<string>,
  out: string,
  total: number,
  log: (line: string) => void,
): Promise<void> {
  const n = Math.max(1, Math.min(o.workers, todo.length));
  let started = performance.now();
  const startDone = done.size;
  const perWorker = Array.from({ length: n }, () => ({ images: 0, prepareMs: 0, forwardMs: 0 }));
  let lastLog = 0;
  let lastCount = -1;
  const progress = (final = false) => {
    const now = performance.now();
    if ((!final && now - lastLog < 2000) || (final && lastCount === done.size)) return;
    lastCount = done.size;
    lastLog = now;
    const secs = (now - started) / 1000;
    const rate = (done.size - startDone) / Math.max(secs, 1e-9);
    const workers = perWorker.map((w, i) => `w${i} ${(w.images / Math.max(secs, 1e-9)).toFixed(1)}/s`).join(' ');
    const eta = rate > 0 ? formatDuration((total - done.size) / rate) : '?';
    log(`eval ${done.size}/${total}  ${rate.toFixed(1)} img/s  (${workers})  ETA ${eta}`);
  };
  const record = (worker: number, group: Group, scored: ScoredGroup) => {
    const fresh = scored.records.filter((r) => !done.has(r.file));
    if (fresh.length) appendFileSync(out, fresh.map(formatLine).join(''));
    for (const r of fresh) done.add(r.file);
    const w = perWorker[worker];
    w.images += group.files.length;
    w.prepareMs += scored.prepareMs;
    w.forwardMs += scored.forwardMs;
    progress();
  };
  if (n === 1) {
    const ex = await inProcess(setup);
    started = performance.now(); // rates count from the first image, not from loading
    try {
      for (const g of todo) record(0, g, await ex.run(g));
    } finally {
      await ex.close();
    }
  } else {
    const pool = await workerPool(setup, n);
    started = performance.now();
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: n }, async (_, w) => {
          while (next < todo.length) {
            const g = todo[next++];
            record(w, g, await pool.runOn(w, g));
          }
        }),
      );
    } finally {
      await pool.close();
    }
  }
  progress(true);
  const prep = perWorker.reduce((a, w) => a + w.prepareMs, 0);
  const fwd = perWorker.reduce((a, w) => a + w.forwardMs, 0);
  log(
    `eval: read + decode + preprocess ${(prep / 1000).toFixed(1)} s, forward passes ${(fwd / 1000).toFixed(1)} s (summed over ${n} worker${n === 1 ? '' : 's'}; decode/forward ${((100 * prep) / Math.max(fwd, 1e-9)).toFixed(1)}%)`,
  );
}
