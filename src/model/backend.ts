/**
 * The one place that chooses a TF.js backend.
 *
 * In Node the wasm backend is the fast one (SIMD; tfjs-node cannot be installed here); cpu is the
 * pure-JS fallback. In the browser the app asks for webgpu → webgl → wasm → cpu.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { TokenScopeError } from '../errors';
import '../tokens/webgpu/apply-check';
import '../tokens/webgl/topk';
import '../tokens/webgl/apply-check';
import './webgl/family';
import '../tokens/webgl/row-norms';
import { resetFusedKernels, verifyFusedKernels } from '../tokens/webgpu/kernel-status';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Switch to `name`, or throw 'backend-unavailable' saying why. */
export async function useBackend(name: BackendName): Promise<void> {
  if (tf.getBackend() === name) return;
  resetFusedKernels();
  // WebGL compiles one shader program per shape unless shapes are uniforms: with token reduction
  // every layer has its own token count, and each new count cost 0.6–1.1 s of compilation
  // (measured in headless Chromium on SwiftShader). With uniforms, programs are reused across counts. (WebGPU keys its
  // programs by rank, not shape, already.)
  if (name === 'webgl') tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', true);
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new TokenScopeError('backend-unavailable', `TF.js backend '${name}' failed to start: ${(e as Error).message}`);
  }
  if (!ok) throw new TokenScopeError('backend-unavailable', `TF.js backend '${name}' is not available here`);
  await tf.ready();
  // The fused WebGPU and WebGL programs run only once this device has compiled them and they agree
  // with the generic ops (src/tokens/webgpu/kernel-status.ts); a family that fails stays on the generic ops.
  if (name === 'webgpu' || name === 'webgl') await verifyFusedKernels();
}
