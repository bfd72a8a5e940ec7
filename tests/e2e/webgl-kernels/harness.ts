// Runs official conformance cases on WebGL through our GPGPU programs, counts what a forward reads
// back, and forces a program failure, for tests/e2e/webgl-kernels.test.ts.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../../src/app/engine/backends';
import { caseRunners } from '../../../src/reduce/conformance';
import type { CaseOutputs, ConformanceCase } from '../../../src/reduce/conformance/case';
import { forceKernelFailure, fusedFamilyStatus, fusedKernelNotes, verifyFusedKernels } from '../../../src/tokens/webgpu/kernel-status';
import { glRuns } from '../../../src/tokens/webgl/program';
import { runForward } from '../../../src/model/run';
import { listWeights, randomWeights } from '../../../src/model/weights';
import { compilePlan } from '../../../src/reduce/compile';
import { planFromText } from '../../../src/reduce/plan';
import { TINY_VIT } from '../../helpers/tiny-vit';

/** What one forward read back from the GPU while it ran (before its logits were read). */
export interface ForwardReads {
  plan: string;
  syncReads: number;
  asyncReads: number;
  /** Tokens leaving the last block. */
  tokensOut: number;
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
    runCases: (method: string, cases: ConformanceCase[]) => Promise<GLRun>;
    forceKernelFailure: (family: string, on: boolean) => Promise<void>;
    countReads: (plans: string[]) => Promise<ForwardReads[]>;
  }
}

const FAMILIES = ['topk-webgl', 'tome-webgl', 'apply-webgl'];

window.runCases = async (method, cases) => {
  await useBackend('webgl');
  const before = { ...glRuns };
  const tensors = tf.memory().numTensors;
  const outputs: CaseOutputs[] = [];
  for (const c of cases) outputs.push(await caseRunners[method](c));
  const runs = Object.fromEntries(Object.entries(glRuns).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  const status = Object.fromEntries(FAMILIES.map((f) => [f, fusedFamilyStatus(f).state]));
  return { backend: tf.getBackend(), outputs, runs, status, notes: fusedKernelNotes(), leaked: tf.memory().numTensors - tensors };
};

window.forceKernelFailure = async (family, on) => {
  await useBackend('webgl');
  forceKernelFailure(family, on);
  await verifyFusedKernels();
};

window.countReads = async (plans) => {
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

document.getElementById('status')!.textContent = 'ready';
