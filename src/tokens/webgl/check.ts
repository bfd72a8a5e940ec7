/**
 * The device check behind every WebGL family (webgpu/kernel-status.ts): run our programs and the
 * generic path on the same small input and compare. TF.js compiles a WebGL program when it first
 * runs and throws if the driver rejects it, so a rejection surfaces here as a throw; the results
 * are read asynchronously, once when WebGL starts, never inside a forward pass.
 */
export { sameValues } from '../webgpu/check';

/**
 * Runs `fused` and `generic`; a throw or a difference found by `compare` comes back as a sentence,
 * agreement as null. Frees both results.
 */
export async function checkOnWebGL<T>(
  fused: () => T,
  generic: () => T,
  compare: (fused: T, generic: T) => Promise<string | null>,
  dispose: (result: T) => void,
): Promise<string | null> {
  let fusedResult: T;
  try {
    fusedResult = fused();
  } catch (e) {
    return (e as Error).message.split('\n')[0].slice(0, 160);
  }
  const genericResult = generic();
  try {
    return await compare(fusedResult, genericResult);
  } finally {
    dispose(fusedResult);
    dispose(genericResult);
  }
}
