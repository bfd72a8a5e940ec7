/**
 * Runs a seeded random model with DeiT-Tiny's token grid under several plans and reports token
 * counts and logits. The same code runs in Node (vitest) and in Chromium (tests/e2e/harness), so
 * the two can be compared number for number.
 */
import * as tf from '@tensorflow/tfjs';
import { archConfig, type VitConfig } from '../../src/model/config';
import { runForward } from '../../src/model/run';
import { addHeadLayout, addQkvSplit, listWeights, randomWeights } from '../../src/model/weights';
import { compilePlan } from '../../src/reduce/compile';
import { planFromText } from '../../src/reduce/plan';

export interface ProbeResult {
  plan: string;
  /** tokens entering each block, then the tokens leaving the last one */
  tokens: number[];
  logits: number[];
}

/**
 * DeiT-Tiny's geometry where the methods see it (224 px in 16 px patches: 197 tokens, 12 blocks,
 * 3 heads, 1,000 classes) at a quarter of its width (48, heads of 16). The decisions, their kernels
 * and every token count exercise the same code at any width; the matmuls, which the WebGPU
 * software adapter runs on the CPU, cost about a tenth, which is what keeps this test affordable.
 */
export function probeConfig(): VitConfig {
  return { ...archConfig('deit-t'), image_size: 224, hidden_size: 48, intermediate_size: 192 };
}

export async function runEngineProbe(plans: string[], seed = 1): Promise<ProbeResult[]> {
  const config = probeConfig();
  const weights = randomWeights(config, seed);
  addHeadLayout(config, weights); // the per-head attention layout where the backend uses it (wasm)
  addQkvSplit(weights); // the q|k and v projections where the backend uses them (WebGPU, WebGL: MCTF)
  const pixels = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', seed + 1000) as tf.Tensor4D;
  try {
    const results: ProbeResult[] = [];
    for (const text of plans) {
      const compiled = compilePlan(planFromText(text, config.num_hidden_layers), config);
      const { logits, traces } = await runForward({ config, weights }, pixels, compiled);
      const values = Array.from(await logits.data());
      logits.dispose();
      const layers = traces[0].layers;
      results.push({ plan: text, tokens: [...layers.map((l) => l.nIn), layers[layers.length - 1].nOut], logits: values });
    }
    return results;
  } finally {
    tf.dispose([pixels, ...listWeights(weights)]);
  }
}

/** One plan of each method, at the papers' main settings. */
export const PROBE_PLANS = [
  'none',
  'tome:r=13',
  'tome:r=16,inflect=-1',
  'pitome:ratio=0.9',
  'evit:keep=0.7',
  'evit:keep=0.7,fuse=0',
  'topk:keep=0.7',
  'ats',
  'mctf:r=16',
  'atc:keep=0.7',
  'ppt',
  // the schedule derived from DeiT-S 2.9 (the published ones are tied to DeiT's widths)
  'diffrate:target_flops=0',
  'evit:keep=0.7,layers=3+tome:r=8,layers=4-11',
  // GTP with its sparsified attention (a top-k over N² per head) and token scales: the batched path on WebGPU
  'gtp:p=8,sparsity=0.7,scale=1',
];
