// Each of MCTF's WebGPU programs alone at DeiT-T's shapes, with ToMe's and the block's qkv matmul
// for scale, for tests/bench/mctf-programs.ts.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../../src/app/engine/backends';
import { mctfCriteria } from '../../../src/reduce/webgpu/mctf-criteria';
import { mctfDecide } from '../../../src/reduce/webgpu/mctf-decide';
import { mctfAttnNext, mctfCoeffs } from '../../../src/reduce/webgpu/mctf-merge';
import { mctfScores } from '../../../src/reduce/webgpu/mctf-scores';
import { tomeBestMatch } from '../../../src/reduce/webgpu/tome-best-match';
import { tomeDecide } from '../../../src/reduce/webgpu/tome-decide';
import { applyAssignmentProgram } from '../../../src/tokens/webgpu/apply-assignment';

declare global {
  interface Window {
    timeMctfPrograms: (calls: number) => Promise<Record<string, number>>;
  }
}

/** Milliseconds per call of each program: `calls` calls queued, then one read of the last as the fence. */
window.timeMctfPrograms = async (calls) => {
  await useBackend('webgpu');
  const [n, channels, heads, r] = [197, 192, 3, 16];
  const scope = (() => {
    const x = tf.randomNormal([1, n, channels], 0, 1, 'float32', 1) as tf.Tensor3D;
    const probs = tf.softmax(tf.randomNormal([1, heads, n, n], 0, 1, 'float32', 2)) as tf.Tensor4D;
    const size = tf.ones([1, n, 1]) as tf.Tensor3D;
    // the engine's defaults: τ_sim 1, τ_info 20, τ_size 40, bidirectional, a class token
    const criteria = mctfCriteria(x, probs, size, { infoExponent: 1 / 20, sizeExponent: 1 / 40 });
    const scoreOptions = { numProtected: 1, simExponent: 1 };
    const decideOptions = { r1: r / 2, r2: r / 2, bidirection: true, withIndices: false, ...scoreOptions };
    const scores = mctfScores(x, criteria, scoreOptions);
    const decided = mctfDecide(scores, n, decideOptions);
    const coeff = mctfCoeffs(decided, criteria, size, 1);
    const best = tomeBestMatch(x, true, false);
    const target = tf.slice(decided, [0, 0], [1, n]) as tf.Tensor2D;
    const qkvWeights = tf.ones([channels, 3 * channels]) as tf.Tensor2D;
    const programs: Record<string, () => tf.Tensor> = {
      mctf_criteria: () => mctfCriteria(x, probs, size, { infoExponent: 1 / 20, sizeExponent: 1 / 40 }),
      mctf_scores: () => mctfScores(x, criteria, scoreOptions),
      mctf_decide: () => mctfDecide(scores, n, decideOptions),
      mctf_coeff: () => mctfCoeffs(decided, criteria, size, 1),
      mctf_attn_next: () => mctfAttnNext(probs, decided, coeff, n - r, false),
      apply_weighted: () => applyAssignmentProgram(x, target, coeff, n - r),
      tome_bestmatch: () => tomeBestMatch(x, true, false),
      tome_decide: () => tomeDecide(best, n, { r: 13, sortUnmerged: true, distillToken: false, withIndices: false }),
      qkv_matmul: () => tf.matMul(tf.reshape(x, [n, channels]), qkvWeights),
    };
    return { programs, inputs: [x, probs, size, criteria, scores, decided, coeff, best, target, qkvWeights] };
  })();
  const out: Record<string, number> = {};
  try {
    await Promise.all(scope.inputs.map((t) => t.data()));
    for (const [name, run] of Object.entries(scope.programs)) {
      const first = run(); // compiles the program
      await first.data();
      first.dispose();
      const start = performance.now();
      const results = Array.from({ length: calls }, run);
      await results[calls - 1].data();
      out[name] = (performance.now() - start) / calls;
      tf.dispose(results);
    }
  } finally {
    tf.dispose(scope.inputs);
  }
  return out;
};

document.getElementById('status')!.textContent = 'ready';
