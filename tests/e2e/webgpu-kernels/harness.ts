// Runs official conformance cases on WebGPU through the fused kernels, and forces a kernel failure,
// for tests/e2e/webgpu-kernels.test.ts.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../../src/app/engine/backends';
import { caseRunners } from '../../../src/reduce/conformance';
import type { CaseOutputs, ConformanceCase } from '../../../src/reduce/conformance/case';
import {
  forceKernelFailure,
  fusedFamilyOn,
  fusedFamilyStatus,
  fusedKernelNotes,
  setFusedKernelsEnabled,
  verifyFusedKernels,
} from '../../../src/tokens/webgpu/kernel-status';
import { fusedRuns } from '../../../src/tokens/webgpu/program';
import { forceApplyLayout } from '../../../src/tokens/webgpu/apply-assignment';
import { runForward } from '../../../src/model/run';
import { listWeights, randomWeights, type VitWeights } from '../../../src/model/weights';
import { compilePlan } from '../../../src/reduce/compile';
import { planFromText } from '../../../src/reduce/plan';
import { TINY_VIT } from '../../helpers/tiny-vit';
import { gtpAttention } from '../../../src/reduce/conformance/gtp';
import { ATTENTION_SPARSITY_FAMILY, kthSmallestProgram } from '../../../src/model/webgpu/attention-sparsity';
import { sparsityRank } from '../../../src/model/ops';

/** What one forward read back from the device while it ran (before its logits were read). */
export interface ForwardReads {
  plan: string;
  syncReads: number;
  asyncReads: number;
  /** Tokens leaving the last block. */
  tokensOut: number;
}

export interface KernelRun {
  backend: string;
  outputs: CaseOutputs[];
  /** Runs of each fused program during these cases. */
  runs: Record<string, number>;
  status: Record<string, string>;
  notes: string[];
  leaked: number;
}

declare global {
  interface Window {
    runCases: (method: string, cases: ConformanceCase[]) => Promise<KernelRun>;
    forceKernelFailure: (families: string[], on: boolean) => Promise<void>;
    countReads: (plans: string[]) => Promise<ForwardReads[]>;
    fusedRunCounts: () => Record<string, number>;
    fusedVersusGeneric: (plan: string) => Promise<{ fused: ForwardOutcome; generic: ForwardOutcome; leaked: number }>;
    applyLayouts: (plan: string) => Promise<{ row: ForwardOutcome; element: ForwardOutcome; leaked: number }>;
    gtpAttentionCases: (cases: ConformanceCase[]) => Promise<KernelRun>;
  }
}

const FAMILIES = ['apply', 'tome', 'pitome', 'mctf', 'ats', 'attention-sparsity'];

/** The fused programs run since `before` (a copy of `fusedRuns`), by key. */
function runsSince(before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(fusedRuns).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** `runCase` on every case on WebGPU: the outputs, the fused programs run, the families' states and notes, and any tensors left behind. */
async function kernelRun(cases: ConformanceCase[], runCase: (c: ConformanceCase) => CaseOutputs | Promise<CaseOutputs>): Promise<KernelRun> {
  await useBackend('webgpu');
  const before = { ...fusedRuns };
  const tensors = tf.memory().numTensors;
  const outputs: CaseOutputs[] = [];
  for (const c of cases) outputs.push(await runCase(c));
  const status = Object.fromEntries(FAMILIES.map((f) => [f, fusedFamilyStatus(f).state]));
  return { backend: tf.getBackend(), outputs, runs: runsSince(before), status, notes: fusedKernelNotes(), leaked: tf.memory().numTensors - tensors };
}

window.runCases = (method, cases) => kernelRun(cases, caseRunners[method]);

/**
 * GTP's official attention cases with the sparsity threshold from the WebGPU program while its
 * family is on (else top-k), read asynchronously: the conformance runner reads synchronously,
 * which the software adapter's WebGPU does not survive.
 */
window.gtpAttentionCases = (cases) =>
  kernelRun(cases, async (c) => {
    const kthSmallest = fusedFamilyOn(ATTENTION_SPARSITY_FAMILY) ? kthSmallestProgram : undefined;
    const { attn, xAttn } = tf.tidy(() => gtpAttention(c, kthSmallest));
    try {
      return { k: sparsityRank(attn.shape[2], Number(c.params.sparsity)), attn: await attn.array(), x_attn: await xAttn.array() };
    } finally {
      tf.dispose([attn, xAttn]);
    }
  });

window.forceKernelFailure = async (families, on) => {
  await useBackend('webgpu');
  for (const family of families) forceKernelFailure(family, on);
  await verifyFusedKernels();
};

window.countReads = async (plans) => {
  await useBackend('webgpu');
  const backend = tf.backend() as unknown as Record<string, (...args: unknown[]) => unknown>;
  const weights = randomWeights(TINY_VIT, 3);
  const pixels = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const counts = { readSync: 0, read: 0 };
  const originals = { readSync: backend.readSync, read: backend.read };
  // only reads that go to the GPU: data already on the CPU (uploads, CPU-run small ops) costs nothing
  const tensorMap = (backend as unknown as { tensorMap: { get(id: unknown): { values: unknown } | undefined } }).tensorMap;
  for (const name of ['readSync', 'read'] as const) {
    backend[name] = function (this: unknown, ...args: unknown[]) {
      if (tensorMap.get(args[0])?.values == null) counts[name]++;
      return originals[name].apply(this, args);
    };
  }
  const out: ForwardReads[] = [];
  try {
    for (const plan of plans) {
      counts.readSync = 0;
      counts.read = 0;
      const { logits, traces } = await runForward({ config: TINY_VIT, weights }, pixels, compilePlan(planFromText(plan, 4), TINY_VIT));
      out.push({ plan, syncReads: counts.readSync, asyncReads: counts.read, tokensOut: traces[0].layers.at(-1)!.nOut });
      logits.dispose();
    }
  } finally {
    Object.assign(backend, originals);
    tf.dispose([pixels, ...listWeights(weights)]);
  }
  return out;
};

window.fusedRunCounts = () => ({ ...fusedRuns });

/** Tokens leaving each block, the logits, and the fused programs run, of one forward. */
export interface ForwardOutcome {
  tokens: number[];
  logits: number[];
  runs: Record<string, number>;
}

/** One forward of `plan` on the tiny ViT: every image's token counts, the logits, and the fused programs it ran. */
async function forwardOutcome(weights: VitWeights, pixels: tf.Tensor4D, plan: string): Promise<ForwardOutcome> {
  const before = { ...fusedRuns };
  const { logits, traces } = await runForward({ config: TINY_VIT, weights }, pixels, compilePlan(planFromText(plan, 4), TINY_VIT));
  const values = Array.from(await logits.data());
  logits.dispose();
  return { tokens: traces.flatMap((t) => t.layers.map((l) => l.nOut)), logits: values, runs: runsSince(before) };
}

/**
 * Two forwards of `plan` on the tiny ViT, same weights and images, the first after `first()` and
 * the second after `second()`; `restore()` runs after both, whatever happened.
 */
async function twoForwards(plan: string, batch: number, seed: number, first: () => void, second: () => void, restore: () => void) {
  await useBackend('webgpu');
  const tensors = tf.memory().numTensors;
  const weights = randomWeights(TINY_VIT, 3);
  const pixels = tf.randomNormal([batch, 16, 16, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  try {
    first();
    const a = await forwardOutcome(weights, pixels, plan);
    second();
    const b = await forwardOutcome(weights, pixels, plan);
    return { a, b, tensors };
  } finally {
    restore();
    tf.dispose([pixels, ...listWeights(weights)]);
  }
}

/** One forward of `plan` on the tiny ViT with the fused kernels, and one on the generic ops. */
window.fusedVersusGeneric = async (plan) => {
  const on = () => setFusedKernelsEnabled(true);
  const { a, b, tensors } = await twoForwards(plan, 1, 5, on, () => setFusedKernelsEnabled(false), on);
  return { fused: a, generic: b, leaked: tf.memory().numTensors - tensors };
};

/** One forward of `plan` (batch 2) with the apply step's row layout and one with its element layout. */
window.applyLayouts = async (plan) => {
  const { a, b, tensors } = await twoForwards(
    plan,
    2,
    6,
    () => forceApplyLayout('row'),
    () => forceApplyLayout('element'),
    () => forceApplyLayout(null),
  );
  return { row: a, element: b, leaked: tf.memory().numTensors - tensors };
};

document.getElementById('status')!.textContent = 'ready';
