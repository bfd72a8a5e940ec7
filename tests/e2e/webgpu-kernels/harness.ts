// Runs official conformance cases on WebGPU through the fused kernels, and forces a kernel failure,
// for tests/e2e/webgpu-kernels.test.ts.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../../src/app/engine/backends';
import { caseRunners } from '../../../src/reduce/conformance';
import type { CaseOutputs, ConformanceCase } from '../../../src/reduce/conformance/case';
import { forceKernelFailure, fusedFamilyStatus, fusedKernelNotes, verifyFusedKernels } from '../../../src/tokens/webgpu/kernel-status';
import { fusedRuns } from '../../../src/tokens/webgpu/program';

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
    forceKernelFailure: (family: string, on: boolean) => Promise<void>;
  }
}

const FAMILIES = ['apply', 'tome', 'pitome', 'mctf', 'ats'];

window.runCases = async (method, cases) => {
  await useBackend('webgpu');
  const before = { ...fusedRuns };
  const tensors = tf.memory().numTensors;
  const outputs: CaseOutputs[] = [];
  for (const c of cases) outputs.push(await caseRunners[method](c));
  const runs = Object.fromEntries(Object.entries(fusedRuns).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  const status = Object.fromEntries(FAMILIES.map((f) => [f, fusedFamilyStatus(f).state]));
  return { backend: tf.getBackend(), outputs, runs, status, notes: fusedKernelNotes(), leaked: tf.memory().numTensors - tensors };
};

window.forceKernelFailure = async (family, on) => {
  await useBackend('webgpu');
  forceKernelFailure(family, on);
  await verifyFusedKernels();
};

document.getElementById('status')!.textContent = 'ready';
