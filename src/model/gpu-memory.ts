/**
 * Bounded GPU memory between forwards, and what the GPU backends hold.
 *
 * TF.js 4.22's WebGPU and WebGL backends never free a released buffer (texture): they keep it in a
 * free pool keyed by its exact byte size (texture shape) for reuse. Token reduction gives every
 * plan its own token counts, so every plan adds sizes that no later plan asks for, and the pool
 * grows without end (docs/PERFORMANCE.md#memory: 32 → 292 MB after seven DeiT-Tiny plans).
 *
 * The policy here: `boundGpuMemory(forward)` notes which pooled buffers the forward takes, and
 * when it ends frees every free-pool entry that the forward did not take. A plan run again reuses
 * everything (nothing is freed or created), a new plan keeps only what it used itself, so what is
 * held between forwards is the weights plus one forward's working set. Alternatives measured
 * (docs/PERFORMANCE.md#memory): emptying the whole pool after each forward (same bound, every
 * forward re-creates its buffers), WebGL's WEBGL_DELETE_TEXTURE_THRESHOLD (stale shapes stay in
 * the pool, and past the threshold every texture is re-created), rounding WebGPU buffer sizes to
 * size classes (TF.js reads a tensor back by its buffer's size, so a larger buffer returns wrong
 * data without further patching).
 *
 * Freeing needs the backends' pool internals, which TF.js does not export. They are read through
 * the narrow shapes below and checked at run time: if a TF.js upgrade changes them, the policy
 * does nothing and `gpuMemory().bounded` says so (the browser memory test then fails).
 */
import * as tf from '@tensorflow/tfjs';

export interface GpuMemory {
  backend: 'webgpu' | 'webgl';
  /** Bytes the backend holds on the GPU: tensors in use plus TF.js's free pool. */
  heldBytes: number;
  /** Bytes of live tensors' buffers (textures). */
  inUseBytes: number;
  /** Whether this module can free the backend's pool (false after an incompatible TF.js upgrade). */
  bounded: boolean;
}

// --- WebGPU: BufferManager (tfjs-backend-webgpu/src/buffer_manager.ts) ---
interface WebGpuBuffer {
  size: number;
  destroy(): void;
}
interface WebGpuBufferManager {
  freeBuffers: Map<string, WebGpuBuffer[]>;
  numFreeBuffers: number;
  numBytesAllocated: number;
  numBytesUsed: number;
  acquireBuffer(...args: unknown[]): WebGpuBuffer;
}

// --- WebGL: TextureManager (tfjs-backend-webgl/src/texture_manager.ts) ---
interface WebGlTexture {
  texture: unknown;
}
interface WebGlTextureManager {
  freeTextures: Record<string, WebGlTexture[]> | null;
  numFreeTextures: number;
  _numBytesAllocated: number;
  _numBytesFree: number;
  numBytesAllocated: number;
  numBytesFree: number;
  acquireTexture(...args: unknown[]): WebGlTexture;
  gpgpu: { deleteMatrixTexture(texture: unknown): void };
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

function webGpuPool(backend: unknown): WebGpuBufferManager | null {
  const m = isObject(backend) ? backend.bufferManager : null;
  return isObject(m) && m.freeBuffers instanceof Map && typeof m.numBytesAllocated === 'number' && typeof m.acquireBuffer === 'function'
    ? (m as unknown as WebGpuBufferManager)
    : null;
}

function webGlPool(backend: unknown): WebGlTextureManager | null {
  const m = isObject(backend) ? backend.textureManager : null;
  return isObject(m) &&
    isObject(m.freeTextures) &&
    typeof m._numBytesAllocated === 'number' &&
    typeof m._numBytesFree === 'number' &&
    typeof m.acquireTexture === 'function' &&
    isObject(m.gpgpu) &&
    typeof m.gpgpu.deleteMatrixTexture === 'function'
    ? (m as unknown as WebGlTextureManager)
    : null;
}

/** What the active GPU backend holds; null on wasm and cpu (their memory is the JS/wasm heap). */
export function gpuMemory(): GpuMemory | null {
  const name = tf.getBackend();
  if (name !== 'webgpu' && name !== 'webgl') return null;
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number; numBytesInGPUAllocated?: number };
  const backend = tf.backend();
  if (name === 'webgpu') {
    return { backend: name, heldBytes: m.numBytesAllocatedInGPU ?? 0, inUseBytes: m.numBytesInGPU ?? 0, bounded: webGpuPool(backend) !== null };
  }
  return { backend: name, heldBytes: m.numBytesInGPUAllocated ?? 0, inUseBytes: m.numBytesInGPU ?? 0, bounded: webGlPool(backend) !== null };
}

/** Pooled entries taken since the current forward began; null outside a forward. */
let taken: WeakSet<object> | null = null;
let depth = 0;
/** The pools whose acquire is already wrapped (a backend re-created after a lost device gets a new one). */
const watched = new WeakSet<object>();

function watch(pool: { acquireBuffer?: unknown; acquireTexture?: unknown }, method: 'acquireBuffer' | 'acquireTexture'): void {
  if (watched.has(pool)) return;
  watched.add(pool);
  const original = (pool[method] as (...args: unknown[]) => object).bind(pool);
  pool[method] = (...args: unknown[]) => {
    const entry = original(...args);
    taken?.add(entry);
    return entry;
  };
}

/**
 * Whether WebGPU storage buffers taken during a forward are rounded up to size classes (a power of
 * two up to 1 MiB, a quarter of a power of two above), so that blocks with different token counts
 * share buffers. 'exact' is TF.js's own keying, for measuring against.
 */
export type BufferSizes = 'classes' | 'exact';
// Off: with classes, DeiT-Tiny's MCTF gave NaN logits on WebGPU (SwiftShader) while the 4-block test model
// matched bit for bit; not yet understood, so exact sizes until it is (docs/PERFORMANCE.md#memory).
let sizes: BufferSizes = 'exact';
export function setBufferSizes(s: BufferSizes): void {
  sizes = s;
}

const STORAGE = 0x80; // GPUBufferUsage.STORAGE (the constant is not defined outside a WebGPU page)
const MAP = 0x1 | 0x2; // MAP_READ | MAP_WRITE: staging buffers, read and written whole
const MIB = 2 ** 20;

/** The size class of a buffer of `bytes`: at most 2× (1.25× above 1 MiB) what was asked, a multiple of 4. */
export function sizeClass(bytes: number): number {
  if (bytes <= 16) return bytes;
  const octave = 2 ** Math.ceil(Math.log2(bytes));
  if (bytes <= MIB) return octave;
  const step = octave / 8;
  return Math.ceil(bytes / step) * step;
}

/** The tensor bytes a rounded-up storage buffer was taken for: reads return only those. */
const asked = new WeakMap<object, number>();

function watchWebGpu(backend: Record<string, unknown>, pool: WebGpuBufferManager): void {
  if (watched.has(pool)) return;
  watched.add(pool);
  const acquire = pool.acquireBuffer.bind(pool) as (size: number, usage: number, ...rest: unknown[]) => WebGpuBuffer;
  pool.acquireBuffer = ((size: number, usage: number, ...rest: unknown[]) => {
    const rounded = taken && sizes === 'classes' && usage & STORAGE && !(usage & MAP) ? sizeClass(size) : size;
    const buffer = acquire(rounded, usage, ...rest);
    if (rounded !== size) asked.set(buffer, size);
    else asked.delete(buffer);
    taken?.add(buffer);
    return buffer;
  }) as WebGpuBufferManager['acquireBuffer'];
  const read = (backend.getBufferData as (b: WebGpuBuffer) => Promise<ArrayBuffer>).bind(backend);
  backend.getBufferData = async (buffer: WebGpuBuffer) => {
    const data = await read(buffer);
    const n = asked.get(buffer);
    return n === undefined ? data : data.slice(0, n);
  };
}

/** WebGL2 bytes per texel of each physical texture type (tfjs-backend-webgl tex_util PhysicalTextureType). */
const BYTES_PER_TEXEL = [2, 4, 4, 16, 8]; // UNPACKED_FLOAT16 (R16F), UNPACKED_FLOAT32 (R32F), PACKED_4X1_UNSIGNED_BYTE (RGBA8), PACKED_2X2_FLOAT32, PACKED_2X2_FLOAT16

/** A WebGL pool key is `${rows}_${cols}_${physicalType}_${isPacked}`; a packed texel holds 2×2 values. */
function textureBytes(key: string): number {
  const [rows, cols, type, packed] = key.split('_');
  const r = Number(rows);
  const c = Number(cols);
  const texels = packed === 'true' ? Math.max(1, Math.ceil(r / 2)) * Math.max(1, Math.ceil(c / 2)) : r * c;
  return texels * BYTES_PER_TEXEL[Number(type)];
}

/** Frees the free-pool entries `keep` does not hold (all of them without `keep`). Returns the bytes freed. */
export function trimGpuPool(keep: (entry: object) => boolean = () => false): number {
  const backend = tf.backend();
  let freed = 0;
  const gpu = tf.getBackend() === 'webgpu' ? webGpuPool(backend) : null;
  if (gpu) {
    for (const [key, buffers] of gpu.freeBuffers) {
      const kept = buffers.filter(keep);
      for (const b of buffers) {
        if (kept.includes(b)) continue;
        b.destroy();
        gpu.numBytesAllocated -= b.size;
        gpu.numFreeBuffers--;
        freed += b.size;
      }
      gpu.freeBuffers.set(key, kept);
    }
  }
  const gl = tf.getBackend() === 'webgl' ? webGlPool(backend) : null;
  if (gl?.freeTextures) {
    for (const [key, textures] of Object.entries(gl.freeTextures)) {
      const kept = textures.filter(keep);
      const bytes = textureBytes(key);
      for (const t of textures) {
        if (kept.includes(t)) continue;
        gl.gpgpu.deleteMatrixTexture(t.texture);
        gl._numBytesAllocated -= bytes;
        gl._numBytesFree -= bytes;
        gl.numFreeTextures--;
        freed += bytes;
      }
      gl.freeTextures[key] = kept;
    }
  }
  return freed;
}

/**
 * What `boundGpuMemory` keeps of the free pool after a forward: what the forward used (the
 * default), nothing, or everything (TF.js's own behaviour; for measuring the others against).
 */
export type GpuPoolPolicy = 'keep-used' | 'keep-none' | 'keep-all';
let policy: GpuPoolPolicy = 'keep-used';

export function setGpuPoolPolicy(p: GpuPoolPolicy): void {
  policy = p;
}

/**
 * Runs one forward (or any GPU work) and then frees what the backend's pool holds that this work
 * did not use. Nested calls (a batch run image by image) trim once, at the outermost. On wasm and
 * cpu it only runs `work`.
 */
export async function boundGpuMemory<T>(work: () => Promise<T>): Promise<T> {
  const name = tf.getBackend();
  const backend = tf.backend();
  const gpu = name === 'webgpu' ? webGpuPool(backend) : null;
  const gl = name === 'webgl' ? webGlPool(backend) : null;
  if ((!gpu && !gl) || policy === 'keep-all') return work();
  if (gpu) watchWebGpu(backend as unknown as Record<string, unknown>, gpu);
  if (gl) watch(gl, 'acquireTexture');
  if (depth++ === 0) taken = new WeakSet();
  const usedHere = taken!;
  try {
    return await work();
  } finally {
    if (--depth === 0) {
      taken = null;
      if (tf.backend() === backend) trimGpuPool(policy === 'keep-none' ? undefined : (entry) => usedHere.has(entry));
    }
  }
}
