/**
 * Messages between the page and the engine worker. Requests and replies are unions on `type`;
 * every request carries a `runId` (increasing), and every reply names the request it answers, so
 * the page drops replies to requests it has since replaced. Everything here is plain data
 * (structured-clone safe): no tensors, no functions.
 */
import type { ErrorCode } from '../../errors';
import type { CheckpointFiles } from '../../io/checkpoint';
import type { PreprocessSpec } from '../../io/preprocess';
import type { BackendName } from '../../model/backend';
import type { VitConfig } from '../../model/config';
import type { Trace } from '../../model/run';
import type { FlopReport } from '../../measure/flops';
import type { BackendChoice } from '../state/url-fields';
import type { GpuMemoryShown } from '../gpu-memory-text';

/** Where a model came from, as the page names it (and, for the hub, links it). */
export type ModelOrigin =
  | { kind: 'bundled' }
  | { kind: 'hub'; repo: string; revision: string; fromCache: boolean }
  | { kind: 'files'; names: string[] }
  /** Seeded random weights: the stand-in before a trained model exists, and tests. */
  | { kind: 'random' };

/** Where the worker gets a model from. */
export type ModelSource =
  /** config.json, model.safetensors and optionally preprocessor_config.json at these (absolute) URLs. */
  | { kind: 'url'; name: string; origin: ModelOrigin; configUrl: string; weightsUrl: string; preprocessorUrl?: string }
  /** Seeded random weights for this config.json content. */
  | { kind: 'random'; name: string; configJson: unknown; seed: number }
  /** A checkpoint's files already in memory (a model picker's result). */
  | { kind: 'files'; name: string; origin: ModelOrigin; files: CheckpointFiles };

export interface ModelInfo {
  name: string;
  origin: ModelOrigin;
  config: VitConfig;
  /** True for seeded random weights: predictions mean nothing. */
  untrained: boolean;
  parameters: number;
  /** The model's own preprocessing (io/preprocess.ts), as the CLI applies it. */
  preprocess: PreprocessSpec;
  /** What the loader assumed, inferred or ignored, in words. */
  notes: string[];
}

/** What the worker found out about one backend on this machine. */
export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** A software rasteriser (SwiftShader, llvmpipe, WebGPU fallback adapter): slower than wasm. */
  software: boolean;
  /** Adapter or renderer in words, or why it is unavailable. */
  detail: string;
}

export interface BackendReport {
  choice: BackendChoice;
  /** The backend that runs the model now. */
  active: BackendName;
  /** Why the choice landed where it did, in words (skips, failures, fallbacks). */
  notes: string[];
  probes: BackendProbe[];
  /** CPU threads the active backend computes on (TF.js's own wasm count); null on a GPU backend. */
  threads: number | null;
  /** Why wasm has one thread on a multi-core machine (no isolation, no SharedArrayBuffer); else null. */
  threadsNote: string | null;
}

export interface RunInput {
  /** Identifies the image (same key, same pixels), for caching the unreduced run. */
  key: string;
  size: number;
  channels: number;
  /** [S, S, C] normalised. */
  pixels: Float32Array;
}

export interface RunResult {
  /** Canonical plan text this result belongs to. */
  plan: string;
  inputKey: string;
  modelName: string;
  backend: BackendName;
  /** The reduced run, recorded with fates (and, unless the request said 'fates', the methods' evidence). */
  trace: Trace;
  logits: number[];
  flops: FlopReport;
  /** The unreduced model on the same image and backend. */
  baselineCounts: number[];
  baselineLogits: number[];
  baselineFlops: FlopReport;
  /** Wall time of this plan's first run here: shader compilation (GPU backends) and trace readback included. */
  firstRunMs: number;
  /** tf.memory().numTensors after the run: constant from run to run when nothing leaks. */
  tensors: number;
  /** What the GPU backend holds after the run (live tensors plus TF.js's free pool); null on wasm and cpu. */
  gpuMemory: GpuMemoryShown | null;
  /** The backend as it stands after this run (a failing backend is replaced during the run). */
  backendReport: BackendReport;
}

export interface Timing {
  plan: string;
  inputKey: string;
  backend: BackendName;
  /** Median wall time of `runs` forwards (no trace recorded), result awaited before reading the clock. */
  medianMs: number;
  runs: number;
  baselineMedianMs: number;
  baselineRuns: number;
}

export type EngineRequest =
  | { type: 'load-model'; runId: number; source: ModelSource }
  | { type: 'set-backend'; runId: number; choice: BackendChoice }
  /** `record`: what the trace keeps; default 'evidence' (fates plus what each method decided by, for the why view). */
  | { type: 'run'; runId: number; input: RunInput; plan: string; timing: boolean; record?: 'fates' | 'evidence' };

export type EngineReply =
  | { type: 'model-loaded'; runId: number; model: ModelInfo }
  | { type: 'backend-set'; runId: number; backend: BackendReport }
  | { type: 'result'; runId: number; result: RunResult }
  | { type: 'timing'; runId: number; timing: Timing }
  | { type: 'error'; runId: number; request: EngineRequest['type']; code: ErrorCode; message: string };
