/**
 * Forwards of random plans on the active backend, with what the GPU backend holds after each one:
 * the memory test (tests/e2e/gpu-memory.test.ts) and its benchmark (tests/bench/gpu-memory.ts)
 * run this in Chromium. The reference is what the first unreduced forward left held (weights plus
 * that forward's pool) with TF.js's own exact buffer sizes, before any reduced plan ran.
 */
import * as tf from '@tensorflow/tfjs';
import type { VitConfig } from '../../src/model/config';
import {
  boundGpuMemory,
  gpuMemory,
  setBufferSizes,
  setGpuPoolPolicy,
  setReplaceOnMiss,
  takePeakHeldBytes,
  trimGpuPool,
  type BufferSizes,
  type GpuPoolPolicy,
} from '../../src/model/gpu-memory';
import { runForward } from '../../src/model/run';
import { listWeights, randomWeights } from '../../src/model/weights';
import { compilePlan } from '../../src/reduce/compile';
import { planFromText } from '../../src/reduce/plan';
import { randomPlan, seededRandom } from './random-plans';

export interface GpuMemoryRun {
  backend: string;
  policy: GpuPoolPolicy;
  sizes: BufferSizes;
  /** Whether a buffer created inside a forward replaced free pool entries (`setReplaceOnMiss`). */
  replace: boolean;
  forwards: number;
  /** Held at the end of the first unreduced forward (weights plus its pool, before any trim): the reference the bound is relative to. */
  referenceBytes: number;
  /** Held after each forward (after the policy trimmed the pool), every `sampleEvery` forwards. */
  heldAfter: number[];
  /** The most held at any point of any forward, before its trim (a forward's own pool included). */
  peakBytes: number;
  /** The plan and record level of the forward that reached `peakBytes`. */
  peakPlan: string;
  /** The most held after any forward's trim. */
  maxHeldBytes: number;
  finalHeldBytes: number;
  bounded: boolean;
  tensorsLeaked: number;
  ms: number;
}

const RECORD = ['fates', 'evidence', 'none'] as const;

export async function randomPlanForwards(
  config: VitConfig,
  {
    forwards,
    seed = 12345,
    policy = 'keep-used',
    sampleEvery = 10,
    without = [],
    sizes = 'classes',
    replace = true,
  }: { forwards: number; seed?: number; policy?: GpuPoolPolicy; sampleEvery?: number; without?: string[]; sizes?: BufferSizes; replace?: boolean },
): Promise<GpuMemoryRun> {
  const next = seededRandom(seed);
  const weights = randomWeights(config, 2);
  const pixels = tf.randomNormal([1, config.image_size, config.image_size, config.num_channels], 0, 1, 'float32', 4) as tf.Tensor4D;
  const layers = config.num_hidden_layers;
  const held = () => gpuMemory()?.heldBytes ?? 0;
  const once = async (text: string, i: number) => {
    let before = 0;
    await boundGpuMemory(async () => {
      const { logits } = await runForward({ config, weights }, pixels, compilePlan(planFromText(text, layers), config), {
        record: RECORD[i % 3],
      });
      await logits.data();
      logits.dispose();
      before = held();
    });
    return Math.max(before, takePeakHeldBytes()); // the most held at any point of the forward
  };
  try {
    // The reference as TF.js alone would need it: exact buffer sizes, from an empty pool (what the
    // backend's start-up checks left there is not this forward's).
    setBufferSizes('exact');
    setReplaceOnMiss(false);
    trimGpuPool();
    takePeakHeldBytes();
    const referenceBytes = await once('none', 0);
    setGpuPoolPolicy(policy);
    setBufferSizes(sizes);
    setReplaceOnMiss(replace);
    const tensors = tf.memory().numTensors;
    const heldAfter: number[] = [];
    let peakBytes = referenceBytes;
    let peakPlan = 'none (fates)';
    let maxHeldBytes = referenceBytes;
    const start = performance.now();
    for (let i = 0; i < forwards; i++) {
      const text = randomPlan(next, without);
      const end = await once(text, i);
      if (end > peakBytes) [peakBytes, peakPlan] = [end, `${text} (${RECORD[i % 3]})`];
      const h = held();
      maxHeldBytes = Math.max(maxHeldBytes, h);
      if (i % sampleEvery === sampleEvery - 1) heldAfter.push(h);
    }
    return {
      backend: tf.getBackend(),
      policy,
      sizes,
      replace,
      forwards,
      referenceBytes,
      heldAfter,
      peakBytes,
      peakPlan,
      maxHeldBytes,
      finalHeldBytes: held(),
      bounded: gpuMemory()?.bounded ?? false,
      tensorsLeaked: tf.memory().numTensors - tensors,
      ms: performance.now() - start,
    };
  } finally {
    tf.dispose([pixels, ...listWeights(weights)]);
    setGpuPoolPolicy('keep-used');
    setBufferSizes('classes');
    setReplaceOnMiss(true);
  }
}

/**
 * Fills every WebGPU storage buffer released to TF.js's pool with NaN (int32 readers see
 * 2143289344), the worst stale data a reused buffer can hold: a kernel that reads a pooled
 * buffer past what its tensor wrote then returns NaN or a wild index instead of a plausible
 * number. Returns the function that stops it. A buffer is released only once the commands that
 * use it are submitted, so the queue write lands after them.
 */
export function poisonReleasedBuffers(): () => void {
  const backend = tf.backend() as unknown as {
    bufferManager: { releaseBuffer(b: GpuBufferLike, reuse?: boolean): void; freeBuffers: Map<string, GpuBufferLike[]> };
    queue: { writeBuffer(b: GpuBufferLike, offset: number, data: Float32Array): void };
  };
  const pool = backend.bufferManager;
  const fill = (buffer: GpuBufferLike) => {
    if (buffer.usage & 0x80 && !(buffer.usage & 0x3)) backend.queue.writeBuffer(buffer, 0, new Float32Array(buffer.size / 4).fill(NaN));
  };
  for (const free of pool.freeBuffers.values()) free.forEach(fill); // what earlier forwards left, too
  const release = pool.releaseBuffer;
  pool.releaseBuffer = (buffer: GpuBufferLike, reuse = true) => {
    if (reuse) fill(buffer);
    release.call(pool, buffer, reuse);
  };
  return () => {
    pool.releaseBuffer = release;
  };
}
interface GpuBufferLike {
  size: number;
  usage: number;
}

export interface SizesAgreement {
  plan: string;
  /** Largest |Δ logit| of size classes against exact sizes (0: bit for bit). */
  maxDiff: number;
  /** Whether the size-class run gave a NaN logit. */
  nan: boolean;
  tracesEqual: boolean;
}

/**
 * Each plan run with TF.js's exact buffer sizes and then with size classes, on WebGPU: the largest
 * |Δ logit| and whether the traces (fates and evidence) are identical. With `poison`, every
 * buffer released to the pool during the size-class runs is filled with NaN first.
 */
export async function sizeClassesAgree(
  config: VitConfig,
  plans: string[],
  { batch = 2, poison = true }: { batch?: number; poison?: boolean } = {},
): Promise<SizesAgreement[]> {
  const weights = randomWeights(config, 2);
  const pixels = tf.randomNormal([batch, config.image_size, config.image_size, config.num_channels], 0, 1, 'float32', 3) as tf.Tensor4D;
  const run = async (text: string, sizes: BufferSizes) => {
    setBufferSizes(sizes);
    const stop = poison && sizes === 'classes' ? poisonReleasedBuffers() : () => {};
    try {
      const { logits, traces } = await runForward({ config, weights }, pixels, compilePlan(planFromText(text, config.num_hidden_layers), config), {
        record: 'evidence',
      });
      const values = Array.from(await logits.data());
      logits.dispose();
      return { values, traces: JSON.stringify(traces) };
    } finally {
      stop();
    }
  };
  try {
    const out: SizesAgreement[] = [];
    for (const plan of plans) {
      const exact = await run(plan, 'exact');
      const classes = await run(plan, 'classes');
      out.push({
        plan,
        maxDiff: exact.values.length === classes.values.length ? Math.max(...exact.values.map((v, i) => Math.abs(v - classes.values[i]))) : Infinity,
        nan: classes.values.some(Number.isNaN),
        tracesEqual: exact.traces === classes.traces,
      });
    }
    return out;
  } finally {
    setBufferSizes('classes');
    tf.dispose([pixels, ...listWeights(weights)]);
  }
}
