// Runs official conformance cases on WebGL through our GPGPU programs, counts what a forward reads
// back, and forces a program failure, for tests/e2e/webgl-kernels.test.ts.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../../src/app/engine/backends';
import { caseRunners } from '../../../src/reduce/conformance';
import type { CaseOutputs, ConformanceCase } from '../../../src/reduce/conformance/case';
import { forceKernelFailure, fusedFamilyStatus, fusedKernelNotes, setFusedKernelsEnabled, verifyFusedKernels } from '../../../src/tokens/webgpu/kernel-status';
import { glRuns } from '../../../src/tokens/webgl/program';
import { runForward } from '../../../src/model/run';
import { listWeights, randomWeights } from '../../../src/model/weights';
import { compilePlan } from '../../../src/reduce/compile';
import { planFromText } from '../../../src/reduce/plan';
import { TINY_VIT } from '../../helpers/tiny-vit';

/** One forward with our programs: what it read back from the GPU while it ran, and how it compares with TF.js's own kernels. */
export interface GLForward {
  plan: string;
  syncReads: number;
  asyncReads: number;
  /** Tokens leaving each block, with our programs and with TF.js's kernels only. */
  tokens: number[];
  tokensGeneric: number[];
  /** Largest |logit difference| between the two. */
  maxLogitDiff: number;
  /** Runs of each of our programs during the forward with them. */
  runs: Record<string, number>;
}

export interface GLRun {
  backend: string;
  outputs: CaseOutputs[];
  /** Runs of each of our programs during these cases. */
  runs: Record<string, number>;
  status: Record<string, string>;
  notes: string[];
  leaked: number;
}

declare global {
  interface Window {
    glRunCases: (method: string, cases: ConformanceCase[]) => Promise<GLRun>;
    glForceKernelFailure: (family: string, on: boolean) => Promise<void>;
    glCompareForwards: (plans: string[]) => Promise<GLForward[]>;
    glFamilyStates: (families: string[]) => Record<string, string>;
    glShaders: () => Record<string, number>;
  }
}

const FAMILIES = ['topk-webgl', 'tome-webgl', 'apply-webgl', 'mctf-webgl'];

window.glRunCases = async (method, cases) => {
  await useBackend('webgl');
  const before = { ...glRuns };
  const tensors = tf.memory().numTensors;
  const outputs: CaseOutputs[] = [];
  for (const c of cases) outputs.push(await caseRunners[method](c));
  const runs = Object.fromEntries(Object.entries(glRuns).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  const status = Object.fromEntries(FAMILIES.map((f) => [f, fusedFamilyStatus(f).state]));
  return { backend: tf.getBackend(), outputs, runs, status, notes: fusedKernelNotes(), leaked: tf.memory().numTensors - tensors };
};

window.glForceKernelFailure = async (family, on) => {
  await useBackend('webgl');
  forceKernelFailure(family, on);
  await verifyFusedKernels();
};

window.glCompareForwards = async (plans) => {
  await useBackend('webgl');
  const backend = tf.backend() as unknown as Record<string, (...args: unknown[]) => unknown>;
  const weights = randomWeights(TINY_VIT, 3);
  const pixels = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const counts = { readSync: 0, read: 0 };
  const originals = { readSync: backend.readSync, read: backend.read };
  // only reads that go to the GPU: data already in CPU memory (uploads, CPU-run small ops) costs nothing
  const texData = (backend as unknown as { texData: { get(id: unknown): { values: unknown } | undefined } }).texData;
  for (const name of ['readSync', 'read'] as const) {
    backend[name] = function (this: unknown, ...args: unknown[]) {
      if (texData.get(args[0])?.values == null) counts[name]++;
      return originals[name].apply(this, args);
    };
  }
  const forward = async (plan: string) => {
    const { logits, traces } = await runForward({ config: TINY_VIT, weights }, pixels, compilePlan(planFromText(plan, 4), TINY_VIT));
    const values = await logits.data();
    logits.dispose();
    return { values, tokens: traces[0].layers.map((l) => l.nOut) };
  };
  const out: GLForward[] = [];
  try {
    for (const plan of plans) {
      counts.readSync = 0;
      counts.read = 0;
      const before = { ...glRuns };
      const mine = await forward(plan);
      const runs = Object.fromEntries(Object.entries(glRuns).map(([k, v]) => [k, v - (before[k] ?? 0)]));
      const reads = { syncReads: counts.readSync, asyncReads: counts.read - 1 }; // less the logits' own read
      setFusedKernelsEnabled(false);
      const generic = await forward(plan).finally(() => setFusedKernelsEnabled(true));
      const maxLogitDiff = Math.max(...Array.from(mine.values, (v, i) => Math.abs(v - generic.values[i])));
      out.push({ plan, ...reads, tokens: mine.tokens, tokensGeneric: generic.tokens, maxLogitDiff, runs });
    }
  } finally {
    Object.assign(backend, originals);
    tf.dispose([pixels, ...listWeights(weights)]);
  }
  return out;
};

/** Shaders TF.js has compiled so far for each of our programs (its binary cache, one entry per distinct shader). */
window.glShaders = () => {
  const cache = (tf.backend() as unknown as { binaryCache: Record<string, unknown> }).binaryCache;
  const counts: Record<string, number> = {};
  for (const key of Object.keys(cache)) {
    const name = /\/\/ tokenscope_(\w+)/.exec(key)?.[1];
    if (name) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
};

window.glFamilyStates = (families) => Object.fromEntries(families.map((f) => [f, fusedFamilyStatus(f).state]));

document.getElementById('status')!.textContent = 'ready';
