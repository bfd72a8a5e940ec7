/**
 * Which fused program families (WebGPU compute programs, WebGL GPGPU programs) may run, and why not.
 *
 * A family (the shared apply step, ToMe's decision, …) runs only after it has passed its check on
 * the current device: `verifyFusedKernels` (called by `useBackend('webgpu')`) runs each registered
 * check once — the fused programs and the generic-op path on the same small input, inside a
 * WebGPU error scope — and switches off any family whose programs the device rejects (a compile or
 * validation error) or whose result differs from the generic path. A switched-off family leaves its
 * method on the generic TF.js ops, and `fusedKernelNotes` says so in words for the backend line.
 */
import * as tf from '@tensorflow/tfjs';

/** The backend a family's programs are written for. */
export type FusedBackend = 'webgpu' | 'webgl';

const BACKEND_LABELS: Record<FusedBackend, string> = { webgpu: 'WebGPU', webgl: 'WebGL' };

export type FamilyState = { state: 'unchecked' } | { state: 'on' } | { state: 'off'; reason: string };

/** A family's self-check: resolves to null when the fused path agrees, or says what went wrong. */
export type FusedCheck = () => Promise<string | null>;

interface Family {
  label: string;
  backend: FusedBackend;
  check: FusedCheck;
  status: FamilyState;
}

const families = new Map<string, Family>();
const forcedFailures = new Set<string>();
let enabled = true;

/** Switches every fused family off (false) or back to its checked state (true): benchmarks compare the two paths with it. */
export function setFusedKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** Registers a family and its check (each method's fused module does this when loaded). */
export function registerFusedFamily(name: string, label: string, check: FusedCheck, backend: FusedBackend = 'webgpu'): void {
  if (!families.has(name)) families.set(name, { label, backend, check, status: { state: 'unchecked' } });
}

/** Whether the family's programs may run now: its backend is active and they passed their check on this device. */
export function fusedFamilyOn(name: string): boolean {
  const family = families.get(name);
  return enabled && family?.status.state === 'on' && tf.getBackend() === family.backend;
}

export function fusedFamilyStatus(name: string): FamilyState {
  return families.get(name)?.status ?? { state: 'unchecked' };
}

/**
 * Makes the family's programs invalid WGSL from now on, as a device that rejects them would (tests
 * of the fault path); `verifyFusedKernels` must run after this to take effect.
 */
export function forceKernelFailure(name: string, on = true): void {
  if (on) forcedFailures.add(name);
  else forcedFailures.delete(name);
}

export function kernelFailureForced(name: string): boolean {
  return forcedFailures.has(name);
}

/**
 * Runs the check of every family registered for `backend` (default: the active one) again, in
 * registration order; the other families stay unchecked.
 */
export async function verifyFusedKernels(backend: string = tf.getBackend()): Promise<void> {
  for (const family of families.values()) {
    family.status = { state: 'unchecked' };
    if (family.backend !== backend) continue;
    let problem: string | null;
    try {
      problem = await family.check();
    } catch (e) {
      problem = (e as Error).message;
    }
    family.status = problem === null ? { state: 'on' } : { state: 'off', reason: problem };
  }
}

/** Forgets every check (the backend changes: nothing fused may run until its families are checked). */
export function resetFusedKernels(): void {
  for (const family of families.values()) family.status = { state: 'unchecked' };
}

/** One sentence per switched-off family, for the backend/status line. */
export function fusedKernelNotes(): string[] {
  return [...families.values()]
    .filter((f) => f.status.state === 'off')
    .map(
      (f) =>
        `${BACKEND_LABELS[f.backend]} rejected the fused ${f.label} kernels (${(f.status as { reason: string }).reason}); ${f.label} runs on generic TF.js ops instead.`,
    );
}
