/**
 * Messages between the compare page and its worker (src/app/compare/worker.ts). Unions on `type`;
 * every request carries a `runId` (increasing) and every reply names the request it answers.
 * Plain data only (structured-clone safe): no tensors, no functions.
 *
 * Evaluation requests (sweep, budget) report progress as they go and can be cancelled with a
 * `cancel` naming their runId; the worker answers `cancelled`, then `status` with its tensor count,
 * so the page can show that a cancelled run left nothing behind.
 */
import type { GpuMemoryShown } from '../gpu-memory-text';
import type { ErrorCode } from '../../errors';
import type { BackendName } from '../../model/backend';
import type { Trace } from '../../model/run';
import type { MethodId } from '../../reduce/types';
import type { BackendChoice } from '../state/url-fields';
import type { BackendReport, ModelInfo, ModelSource, RunInput } from '../worker/protocol';

/** Where the images of an evaluation come from. */
export type EvalData =
  /** The bundled evaluation set (public/data), its first `limit` images; fetched and parsed by the worker. */
  | { kind: 'bundled'; url: string; name: string; limit: number }
  /** The user's images, preprocessed by the page: [count, S, S, C] normalised, with labels or none. */
  | { kind: 'images'; name: string; key: string; count: number; size: number; channels: number; pixels: Float32Array; labels: Uint16Array | null };

/** What an evaluation ran on, for the provenance of every number. */
export interface DataInfo {
  kind: EvalData['kind'];
  name: string;
  /** Images evaluated. */
  n: number;
  labelled: boolean;
  /** Identifies the images (part of the cache key). */
  key: string;
}

/** One point: the `tokenscope sweep --json` fields, then what the page adds. */
export interface SweepRow {
  method: MethodId | 'none';
  /** Canonical plan text. */
  plan: string;
  gflops: number;
  /** Top-1 accuracy; null without labels. */
  accuracy: number | null;
  agreement: number;
  kl: number;
  param: string | null;
  value: number | null;
  /** The method's own GFLOPs per image (not in the model's count). */
  overheadGflops: number;
  /** True when the score came from the cache rather than this run. */
  cached: boolean;
  /** When the score was computed (ISO time). */
  computedAt: string;
}

export interface ModelIdentity {
  name: string;
  /** Content hash of config.json and the weights ('sha256:…'); part of the cache key. */
  hash: string;
  untrained: boolean;
}

export interface SweepResult {
  kind: 'sweep' | 'budget';
  /** The methods asked for (a method missing from rows could not meet the budget). */
  methods: MethodId[];
  model: ModelIdentity;
  data: DataInfo;
  backend: BackendName;
  /** Images per forward pass (the CLI's --batch). */
  batch: number;
  /** The unreduced model first, then one row per point. */
  rows: SweepRow[];
  /** Plans evaluated in this run, and plans taken from the cache. */
  evaluated: number;
  fromCache: number;
  elapsedMs: number;
  /** Equal budget only: the target in GFLOPs, as typed, and the methods that could not meet it. */
  budget?: { text: string; gflops: number; unmet: { method: MethodId; reason: string }[] };
}

export interface TraceRun {
  plan: string;
  trace: Trace;
  logits: number[];
}

export type CompareRequest =
  | { type: 'load-model'; runId: number; source: ModelSource }
  | { type: 'set-backend'; runId: number; choice: BackendChoice }
  | { type: 'sweep'; runId: number; methods: MethodId[]; data: EvalData }
  | { type: 'budget'; runId: number; methods: MethodId[]; data: EvalData; budget: string }
  | { type: 'traces'; runId: number; input: RunInput; plans: string[] }
  | { type: 'cancel'; runId: number; target: number }
  | { type: 'status'; runId: number };

export interface WorkerStatus {
  /** tf.memory().numTensors and numBytes: flat from run to run when nothing leaks. */
  tensors: number;
  bytes: number;
  /** The backend the worker computes on, and what it holds on the GPU (null on wasm and cpu). */
  backend: BackendName;
  gpuMemory: GpuMemoryShown | null;
  /** Evaluations in progress. */
  busy: number;
}

export type CompareReply =
  | { type: 'model-loaded'; runId: number; model: ModelInfo; hash: string }
  | { type: 'backend-set'; runId: number; backend: BackendReport }
  | { type: 'progress'; runId: number; phase: string; done: number; total: number; plans: number; elapsedMs: number }
  | { type: 'result'; runId: number; result: SweepResult }
  | { type: 'traces'; runId: number; inputKey: string; backend: BackendName; runs: TraceRun[]; baselineLogits: number[] }
  | { type: 'cancelled'; runId: number }
  | { type: 'status'; runId: number; status: WorkerStatus }
  | { type: 'error'; runId: number; request: CompareRequest['type']; code: ErrorCode; message: string };
