/**
 * Bounded GPU memory between forwards, and what the GPU backends hold.
 *
 * TF.js 4.22's WebGPU and WebGL backends never free a released buffer (texture): they keep it in a
 * free pool keyed by its exact byte size (texture shape) for reuse. Token reduction gives every
 * plan its own token counts, so every plan adds sizes that no later plan asks for, and the pool
 * grows without end (docs/PERFORMANCE.md#memory: 32 → 292 MB after seven DeiT-Tiny plans).
 *
 * The policy here, `boundGpuMemory(forward)`:
 * - after the forward, every free-pool entry the forward did not take is freed: a plan run again
 *   reuses everything, a new plan keeps only what it used itself;
 * - on WebGPU, storage buffers taken inside the forward are rounded up to size classes, so blocks
 *   and plans with nearby token counts share buffers (the slack past a tensor's end is zeroed:
 *   see `clearSlack`);
 * - on both, a buffer (texture) created inside the forward replaces free entries once the pool
 *   holds more than 1.25× the most bytes in use at once, so what is held follows what a plan
 *   has in use rather than every size it ever asked for.
 * Alternatives measured (docs/PERFORMANCE.md#memory): emptying the whole pool after each forward
 * (every forward re-creates its buffers), WebGL's WEBGL_DELETE_TEXTURE_THRESHOLD (stale shapes stay
 * in the pool, and past the threshold every texture is re-created), no replacing on WebGL (2.18×
 * inside a forward over 1,000 random plans).
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

function watchWebGl(pool: WebGlTextureManager): void {
  if (watched.has(pool)) return;
  watched.add(pool);
  const acquire = pool.acquireTexture.bind(pool);
  pool.acquireTexture = (...args: unknown[]) => {
    const allocated = pool._numBytesAllocated;
    const entry = acquire(...args);
    if (taken) {
      taken.add(entry);
      usedMark.current = Math.max(usedMark.current, pool._numBytesAllocated - pool._numBytesFree);
      if (pool._numBytesAllocated > allocated) replaceFree(pool._numBytesAllocated);
    }
    peakHeld = Math.max(peakHeld, pool._numBytesAllocated);
    return entry;
  };
}

/**
 * Whether a buffer (texture) created during a forward replaces free pool entries (see
 * `spareShare`): what the backend holds then stays near the most the forward has in use at once
 * instead of every size (shape) it ever asked for (docs/PERFORMANCE.md#memory). Entries the
 * forward has not taken go first (the previous plan's), then its own released ones. On WebGL a
 * texture's key is its exact shape, so a new plan misses often; replacing there is affordable
 * because the trim drops emptied shape keys (walking ~800 of them per replacement once cost
 * 0.5 ms) and skips the walk for earlier entries once none is left.
 */
let replaceOnMiss = true;
export function setReplaceOnMiss(on: boolean): void {
  replaceOnMiss = on;
}

/** The most held (bytes) at any buffer (texture) taken inside a forward since the last `takePeakHeldBytes`. */
let peakHeld = 0;
export function takePeakHeldBytes(): number {
  const p = peakHeld;
  peakHeld = 0;
  return p;
}

/**
 * What the pool may hold beyond the most bytes in use at once (in this forward or the previous
 * one) before a created buffer replaces free ones: room for the class mix a plan needs, so that a
 * plan run again mostly finds its buffers.
 */
let spareShare = 0.25;
export function setSpareShare(x: number): void {
  spareShare = x;
}
/** The most bytes in use at once in the previous forward and in this one so far. */
let usedMark = { previous: 0, current: 0 };
/** This forward has already freed every free entry it did not take: only its own are left to replace. */
let earlierEntriesGone = false;

/** Frees free entries until the pool holds no more than `spareShare` past the most in use at once. */
function replaceFree(heldBytes: number): void {
  if (!replaceOnMiss || !taken) return;
  const excess = heldBytes - Math.max(usedMark.previous, usedMark.current) * (1 + spareShare);
  if (excess <= 0) return;
  const mine = taken;
  const freed = earlierEntriesGone ? 0 : trimGpuPool((entry) => mine.has(entry), excess);
  if (freed < excess) {
    earlierEntriesGone = true;
    trimGpuPool(() => false, excess - freed);
  }
}

/**
 * Whether WebGPU storage buffers taken during a forward are rounded up to size classes (`sizeClass`),
 * so that blocks with nearby token counts share buffers. 'exact' is TF.js's own keying, for
 * measuring against.
 */
export type BufferSizes = 'classes' | 'exact';
let sizes: BufferSizes = 'classes';
export function setBufferSizes(s: BufferSizes): void {
  sizes = s;
}

const STORAGE = 0x80; // GPUBufferUsage.STORAGE (the constant is not defined outside a WebGPU page)
const MAP = 0x1 | 0x2; // MAP_READ | MAP_WRITE: staging buffers, read and written whole

/** The size class of a buffer of `bytes`: the next eighth of its power of two (at most 1.25× what was asked), a multiple of 4. */
export function sizeClass(bytes: number): number {
  if (bytes <= 32) return bytes;
  const octave = 2 ** Math.ceil(Math.log2(bytes));
  const step = octave / 8;
  return Math.ceil(bytes / step) * step;
}

/** The tensor bytes a rounded-up storage buffer was taken for: reads return only those. */
const asked = new WeakMap<object, number>();

interface WebGpuQueue {
  writeBuffer(buffer: WebGpuBuffer, offset: number, data: Uint8Array, dataOffset: number, size: number): void;
}

/** Zeros written over a reused buffer's slack; grown to the largest slack met. */
let zeros = new Uint8Array(0);

/**
 * Clears bytes [from, buffer.size) of a buffer taken from the pool: what an earlier tensor left
 * past the new tensor's end. TF.js 4.22's WebGPU matmul reads B without a bounds check
 * (`mm_readB` in matmul_packed_webgpu.ts: the tile rows past the inner dimension are read and
 * multiplied by A's zero padding). In an exact-size buffer the read past the end is clamped to
 * the tensor's own last value (WebGPU's robust buffer access), so 0 × finite = 0; in a rounded-up
 * buffer it reads the slack, and a stale ±∞ or NaN there (MCTF's −∞ scores) made 0 × ∞ = NaN
 * logits. Zeroed slack reads as 0 again. A queue write runs before the forward's pending
 * commands, and a pooled buffer is in none of them (TF.js releases a buffer its queued commands
 * use only after submitting them).
 */
function clearSlack(queue: WebGpuQueue, buffer: WebGpuBuffer, from: number): void {
  const bytes = buffer.size - from;
  if (zeros.length < bytes) zeros = new Uint8Array(sizeClass(bytes));
  queue.writeBuffer(buffer, from, zeros, 0, bytes);
}

function webGpuQueue(backend: Record<string, unknown>): WebGpuQueue | null {
  const q = backend.queue;
  return isObject(q) && typeof q.writeBuffer === 'function' ? (q as unknown as WebGpuQueue) : null;
}

function watchWebGpu(backend: Record<string, unknown>, pool: WebGpuBufferManager): void {
  if (watched.has(pool)) return;
  watched.add(pool);
  const queue = webGpuQueue(backend);
  const acquire = pool.acquireBuffer.bind(pool) as (size: number, usage: number, ...rest: unknown[]) => WebGpuBuffer;
  pool.acquireBuffer = ((size: number, usage: number, ...rest: unknown[]) => {
    const storage = usage & STORAGE && !(usage & MAP); // not the staging buffers TF.js creates and destroys per upload
    const rounded = taken && queue && sizes === 'classes' && storage ? sizeClass(size) : size;
    const allocated = pool.numBytesAllocated;
    const buffer = acquire(rounded, usage, ...rest);
    const created = pool.numBytesAllocated - allocated;
    if (taken) usedMark.current = Math.max(usedMark.current, pool.numBytesUsed);
    if (rounded !== size) {
      asked.set(buffer, size);
      // a buffer created now is zero-filled by WebGPU (and may be mapped for its first upload)
      if (!created) clearSlack(queue!, buffer, size);
    } else asked.delete(buffer);
    taken?.add(buffer);
    if (created > 0 && storage) replaceFree(pool.numBytesAllocated);
    peakHeld = Math.max(peakHeld, pool.numBytesAllocated);
    return buffer;
  }) as WebGpuBufferManager['acquireBuffer'];
  const read = (backend.getBufferData as (b: WebGpuBuffer) => Promise<ArrayBuffer>).bind(backend);
  backend.getBufferData = async (buffer: WebGpuBuffer) => {
    const data = await read(buffer);
    const n = asked.get(buffer);
    return n === undefined ? data : data.slice(0, n);
  };
  // dataSync reads the whole buffer too (and caches what it read as the tensor's values)
  const tensors = backend.tensorMap as { get(id: object): { resource?: unknown; values?: unknown } | undefined } | undefined;
  const readSync = (backend.readSync as (dataId: object) => ArrayLike<number>).bind(backend);
  backend.readSync = (dataId: object) => {
    const entry = tensors?.get(dataId);
    const n = isObject(entry?.resource) ? asked.get(entry.resource) : undefined;
    const values = readSync(dataId);
    if (n === undefined || !ArrayBuffer.isView(values) || values.byteLength <= n) return values;
    const exact = (values as unknown as Float32Array).slice(0, n / (values as unknown as Float32Array).BYTES_PER_ELEMENT);
    if (entry) entry.values = exact;
    return exact;
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

/**
 * Frees the free-pool entries `keep` does not hold (all of them without `keep`), stopping once
 * `limit` bytes are freed. Returns the bytes freed.
 */
export function trimGpuPool(keep: (entry: object) => boolean = () => false, limit = Infinity): number {
  const backend = tf.backend();
  let freed = 0;
  const gpu = tf.getBackend() === 'webgpu' ? webGpuPool(backend) : null;
  if (gpu) {
    for (const [key, buffers] of gpu.freeBuffers) {
      const kept: WebGpuBuffer[] = [];
      for (const b of buffers) {
        if (freed >= limit || keep(b)) {
          kept.push(b);
          continue;
        }
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
      const bytes = textureBytes(key);
      const kept: WebGlTexture[] = [];
      for (const t of textures) {
        if (freed >= limit || keep(t)) {
          kept.push(t);
          continue;
        }
        gl.gpgpu.deleteMatrixTexture(t.texture);
        gl._numBytesAllocated -= bytes;
        gl._numBytesFree -= bytes;
        gl.numFreeTextures--;
        freed += bytes;
      }
      // an emptied key is dropped (TF.js re-creates it on the next release): with token reduction
      // there are hundreds of shapes, and every later trim would walk them
      if (kept.length > 0) gl.freeTextures[key] = kept;
      else delete gl.freeTextures[key];
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
  if (gl) watchWebGl(gl);
  if (depth++ === 0) {
    taken = new WeakSet();
    usedMark = { previous: usedMark.current, current: 0 };
    earlierEntriesGone = false;
  }
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
