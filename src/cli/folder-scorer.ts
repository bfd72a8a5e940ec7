/**
 * Scores groups of images from an ImageFolder: read, decode (sharp), the model's own evaluation
 * preprocessing, then every plan (image-records.ts). One scorer per thread: the main thread's for
 * `--workers 1`, one in each worker thread otherwise (eval-worker.ts), each with its own wasm backend.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenScopeError } from '../errors';
import { disposeCheckpoint, loadCheckpoint, type LoadedCheckpoint } from '../io/checkpoint';
import { decodeImageBytes } from '../io/decode-image-node';
import type { LabelledFile } from '../io/image-folder-node';
import { preprocessImage } from '../io/preprocess';
import { type CompiledEntry, type ImageRecord, scoreBatch } from '../measure/image-records';
import { useBackend } from '../model/backend';
import { warmUp } from '../model/run';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import { readLocalCheckpoint } from './predict';

export interface ScorerSetup {
  /** A model directory or .safetensors file on this machine (hub ids are resolved before). */
  modelPath: string;
  configPath?: string;
  /** The data folder. */
  root: string;
  /** Canonical plan texts, 'none' first. */
  plans: string[];
}

export interface ScoredGroup {
  records: ImageRecord[];
  /** Milliseconds reading + decoding + preprocessing, and in the forward passes. */
  prepareMs: number;
  forwardMs: number;
}

/** The message of an error as a record states it. */
const reason = (e: unknown) => (e instanceof TokenScopeError ? `[${e.code}] ${e.message}` : ((e as Error).message ?? String(e)));

export class FolderScorer {
  private constructor(
    private readonly loaded: LoadedCheckpoint,
    private readonly entries: CompiledEntry[],
    private readonly root: string,
  ) {}

  static async create(setup: ScorerSetup): Promise<FolderScorer> {
    await useBackend('wasm');
    const loaded = loadCheckpoint(readLocalCheckpoint(setup.modelPath, setup.configPath));
    try {
      const depth = loaded.config.num_hidden_layers;
      const entries = setup.plans.map((plan) => ({ plan, compiled: compilePlan(planFromText(plan, depth), loaded.config) }));
      await warmUp(loaded.model, []); // per-head attention layout for the wasm backend
      return new FolderScorer(loaded, entries, setup.root);
    } catch (e) {
      disposeCheckpoint(loaded);
      throw e;
    }
  }

  /** Normalised model input for one file, or why it could not be read. */
  private async prepare(file: string): Promise<Float32Array | { error: string }> {
    const path = join(this.root, file);
    try {
      const image = await decodeImageBytes(new Uint8Array(await readFile(path)), file);
      return preprocessImage(image, this.loaded.preprocess).pixels;
    } catch (e) {
      return { error: reason(e) };
    }
  }

  /** Scores one group; unreadable images become records with an `error` and are left out of the batch. */
  async score(files: LabelledFile[]): Promise<ScoredGroup> {
    const t0 = performance.now();
    const prepared = await Promise.all(files.map((f) => this.prepare(f.file)));
    const good = files.map((f, i) => ({ f, p: prepared[i] })).filter((x): x is { f: LabelledFile; p: Float32Array } => x.p instanceof Float32Array);
    const t1 = performance.now();
    const size = good[0]?.p.length ?? 0;
    const pixels = new Float32Array(good.length * size);
    good.forEach((g, i) => pixels.set(g.p, i * size));
    const results = good.length ? await scoreBatch(this.loaded.model, this.entries, pixels, good.length) : [];
    const t2 = performance.now();
    const byFile = new Map(good.map((g, i) => [g.f.file, results[i]]));
    const records = files.map((f, i): ImageRecord => {
      const p = prepared[i];
      return p instanceof Float32Array ? { file: f.file, label: f.label, plans: byFile.get(f.file)! } : { file: f.file, label: f.label, error: p.error };
    });
    return { records, prepareMs: t1 - t0, forwardMs: t2 - t1 };
  }

  dispose(): void {
    disposeCheckpoint(this.loaded);
  }
}
