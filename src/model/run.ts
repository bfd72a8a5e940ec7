/**
 * runForward: one forward pass plus its trace, the single source of every view and number.
 *
 * A trace is plain data (no tensors): per image, per block, the tokens in and out and — when
 * recorded — where every input token went (target row, coefficient). Everything is read back once
 * at the end, in one Promise.all; no per-layer readback.
 */
import * as tf from '@tensorflow/tfjs';
import type { VitConfig } from './config';
import { kernelsRunOnCpu } from '../tokens/kernel-paths';
import { readEvidence, type Evidence } from '../tokens/evidence';
import { type BlockOutput, type LayerHook, disposeBlockOutputs, forwardTensorsAsync } from './vit';
import { addHeadLayout, addQkvSplit, type VitWeights } from './weights';
import { boundGpuMemory } from './gpu-memory';

export interface Model {
  config: VitConfig;
  weights: VitWeights;
}

/** A compiled plan: one hook per block and whether attention is size-proportional. */
export interface CompiledPlan {
  hooks: (LayerHook | null)[];
  propAttn: boolean;
  /** State built once per forward from the embedded tokens and carried across blocks (GTP's graph). */
  initCarried?: (embedded: tf.Tensor3D) => tf.Tensor;
}

/**
 * What a run keeps for its trace: nothing but counts ('none', benchmarks), where every token went
 * ('fates'), or that plus each method's decision evidence ('evidence', the why view and
 * `predict --evidence`). Evidence costs nothing unless asked for.
 */
export type RecordLevel = 'none' | 'fates' | 'evidence';

export interface LayerTrace {
  layer: number;
  method: string | null;
  nIn: number;
  nOut: number;
  /** Output row of each input token (-1 = dropped), when recorded and the layer reduced. */
  target?: number[];
  /** Coefficient of each input token in its output row, when recorded. */
  coeff?: number[];
  /** EViT's fused summary token, if any. */
  fusedRow?: number;
  /** What the method decided by, at record level 'evidence'. */
  evidence?: Evidence;
}

export interface Trace {
  /** Tokens entering block 0. */
  tokens: number;
  layers: LayerTrace[];
}

export interface ForwardResult {
  /** [B, labels]; the caller disposes. */
  logits: tf.Tensor2D;
  /** One per image. */
  traces: Trace[];
}

async function readTraces(blocks: BlockOutput[], hooks: (LayerHook | null)[], batch: number, tokens: number): Promise<Trace[]> {
  const [arrays, evidence] = await Promise.all([
    Promise.all(
      blocks.map(async (b) => (b.target && b.coeff ? { target: (await b.target.array()) as number[][], coeff: (await b.coeff.array()) as number[][] } : null)),
    ),
    Promise.all(blocks.map((b) => (b.evidence ? readEvidence(b.evidence, batch) : null))),
  ]);
  return Array.from({ length: batch }, (_, i) => ({
    tokens,
    layers: blocks.map((b, l) => {
      const layer: LayerTrace = { layer: l, method: hooks[l]?.method ?? null, nIn: b.nIn, nOut: b.nOut };
      const a = arrays[l];
      if (a) {
        layer.target = a.target[i];
        layer.coeff = a.coeff[i];
        if (b.fusedRow !== undefined) layer.fusedRow = b.fusedRow;
      }
      const e = evidence[l];
      if (e) layer.evidence = e[i];
      return layer;
    }),
  }));
}

/**
 * Runs the model on normalised pixels [B, S, S, C] under a compiled plan. Plans with a
 * data-dependent token count (ATS) run image by image, since each image keeps its own count.
 * On WebGPU and WebGL the backend's free pool keeps only what this forward used (./gpu-memory.ts).
 */
export function runForward(model: Model, pixels: tf.Tensor4D, plan: CompiledPlan, options: { record?: RecordLevel } = {}): Promise<ForwardResult> {
  return boundGpuMemory(() => forward(model, pixels, plan, options));
}

async function forward(model: Model, pixels: tf.Tensor4D, plan: CompiledPlan, { record = 'none' }: { record?: RecordLevel }): Promise<ForwardResult> {
  const batch = pixels.shape[0];
  const perImage = batch > 1 && plan.hooks.some((h) => h?.perImage);
  if (perImage) {
    const logits: tf.Tensor2D[] = [];
    const traces: Trace[] = [];
    try {
      for (let i = 0; i < batch; i++) {
        const one = tf.slice(pixels, [i, 0, 0, 0], [1, -1, -1, -1]);
        try {
          const r = await forward(model, one, plan, { record });
          logits.push(r.logits);
          traces.push(...r.traces);
        } finally {
          one.dispose();
        }
      }
      return { logits: tf.concat(logits, 0), traces };
    } finally {
      tf.dispose(logits);
    }
  }
  const out = await forwardTensorsAsync(model.config, model.weights, pixels, {
    hooks: plan.hooks,
    propAttn: plan.propAttn,
    initCarried: plan.initCarried,
    keepAssignments: record !== 'none',
    keepEvidence: record === 'evidence',
  });
  try {
    const traces = await readTraces(out.blocks, plan.hooks, batch, out.blocks[0]?.nIn ?? 0);
    return { logits: out.logits, traces };
  } finally {
    disposeBlockOutputs(out.blocks);
  }
}

/**
 * Gets a model ready for interactive use on the current backend, so the first click is not the slow
 * one: adds the per-head attention layout where the backend uses it (wasm, cpu; owned by the
 * weights from then on, see `addHeadLayout`) or, on WebGL and WebGPU, the q|k and v column blocks
 * of the qkv projection (`addQkvSplit`), then runs every plan once on seeded random pixels,
 * which makes WebGL and WebGPU compile their shader programs for each plan's token counts (ATS's
 * counts depend on the image: the warm-up covers the ones this input produces). Leaves no other
 * tensors behind.
 */
export async function warmUp(model: Model, plans: CompiledPlan[], { batch = 1, seed = 0 }: { batch?: number; seed?: number } = {}): Promise<void> {
  const { config, weights } = model;
  if (kernelsRunOnCpu()) addHeadLayout(config, weights);
  else addQkvSplit(weights);
  const pixels = tf.randomNormal([batch, config.image_size, config.image_size, config.num_channels], 0, 1, 'float32', seed) as tf.Tensor4D;
  try {
    for (const plan of plans) {
      const { logits } = await runForward(model, pixels, plan);
      await logits.data();
      logits.dispose();
    }
  } finally {
    pixels.dispose();
  }
}
