/**
 * Scores cached per (model, images, backend, batch size, plan): in memory, and in IndexedDB where
 * the browser offers it, so a second visit redraws the plot at once. The key names everything a
 * score depends on; the plan is canonicalised first, so 'tome' and 'tome:r=8' share one entry.
 *
 * Why backend and batch are in the key: the same plan on WebGPU and on wasm differs in the last
 * bits of the logits (a near-tie can flip a top-1), and the KL sum is grouped by batch (≈1e-10).
 */
import type { PlanScore } from '../../measure/evaluate';
import { formatPlan, planFromText } from '../../reduce/plan';

export const CACHE_VERSION = 1;

export interface ScoreKeyParts {
  /** ModelIdentity.hash. */
  model: string;
  /** DataInfo.key. */
  data: string;
  backend: string;
  batch: number;
  plan: string;
  /** Blocks of the model, to canonicalise the plan. */
  depth: number;
}

/** The cache key of one score. Throws the plan parser's error ('plan-invalid', 'param-out-of-range') for a bad plan. */
export function scoreKey({ model, data, backend, batch, plan, depth }: ScoreKeyParts): string {
  const canonical = formatPlan(planFromText(plan, depth));
  return `tokenscope-score/v${CACHE_VERSION}|model=${model}|data=${data}|backend=${backend}|batch=${batch}|plan=${canonical}`;
}

export interface CachedScore {
  score: PlanScore;
  /** ISO time of the evaluation. */
  computedAt: string;
}

export interface ScoreCache {
  get(key: string): Promise<CachedScore | undefined>;
  put(key: string, value: CachedScore): Promise<void>;
}

/** A Map with a size cap (oldest entry out first). */
export class MemoryCache implements ScoreCache {
  private readonly map = new Map<string, CachedScore>();

  constructor(private readonly maxEntries = 5000) {}

  async get(key: string): Promise<CachedScore | undefined> {
    return this.map.get(key);
  }

  async put(key: string, value: CachedScore): Promise<void> {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value!);
  }

  get size(): number {
    return this.map.size;
  }
}

const DB_NAME = 'tokenscope-compare';
const STORE = 'scores';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Memory in front of IndexedDB. Storage failures (private windows, quota) are not errors: the
 * cache then lives in memory only, and `persistent` says so.
 */
export class PersistentCache implements ScoreCache {
  private readonly memory = new MemoryCache();
  private db: Promise<IDBDatabase | null>;
  persistent = false;

  constructor(idb: IDBFactory | undefined = globalThis.indexedDB) {
    this.db = idb ? this.open(idb) : Promise.resolve(null);
  }

  private async open(idb: IDBFactory): Promise<IDBDatabase | null> {
    try {
      const req = idb.open(DB_NAME, CACHE_VERSION);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      const db = await request(req);
      this.persistent = true;
      return db;
    } catch {
      return null;
    }
  }

  async get(key: string): Promise<CachedScore | undefined> {
    const hit = await this.memory.get(key);
    if (hit) return hit;
    const db = await this.db;
    if (!db) return undefined;
    try {
      const value = (await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(key))) as CachedScore | undefined;
      if (value) await this.memory.put(key, value);
      return value;
    } catch {
      return undefined;
    }
  }

  async put(key: string, value: CachedScore): Promise<void> {
    await this.memory.put(key, value);
    const db = await this.db;
    if (!db) return;
    try {
      await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(value, key));
    } catch {
      // quota or a closed database: the memory copy still serves this session
    }
  }
}
