/**
 * ATC's clustering on the host, as the official code runs it (scikit-learn's AgglomerativeClustering
 * on a precomputed distance matrix, scipy's linkage inside): the full dendrogram, then sklearn's
 * `_hc_cut` with Python's heapq sift rules, whose heap-array positions become the cluster labels.
 * Plain arrays, no TF.js. docs/METHODS.md#atc.
 */

export type Linkage = 'single' | 'average' | 'complete';
export const LINKAGES: Linkage[] = ['single', 'average', 'complete'];

export interface Dendrogram {
  /** [T − 1] pairs: merge i creates node T + i from these two node ids (smaller first). */
  children: [number, number][];
  /** [T − 1] ascending merge distances. */
  distances: number[];
}

/**
 * Exact agglomerative clustering of T items from the strict upper triangle of `dist` (row-major
 * T×T, float32 values read in float64). Each step merges the closest pair of active clusters (the
 * first pair in row order on an exact tie) and updates distances by Lance–Williams: single min,
 * complete max, average the size-weighted mean. O(T³), fine for T ≤ a few hundred.
 */
export function dendrogram(dist: ArrayLike<number>, t: number, linkage: Linkage): Dendrogram {
  const d = new Float64Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) d[i * t + j] = d[j * t + i] = dist[i * t + j];
  const active = new Uint8Array(t).fill(1);
  const count = new Float64Array(t).fill(1);
  const node = Int32Array.from({ length: t }, (_, i) => i); // current node id of the cluster held in slot i
  const merges: { a: number; b: number; dist: number }[] = [];
  for (let step = 0; step < t - 1; step++) {
    let best = Infinity;
    let bi = -1;
    let bj = -1;
    for (let i = 0; i < t; i++) {
      if (!active[i]) continue;
      for (let j = i + 1; j < t; j++) {
        if (active[j] && d[i * t + j] < best) {
          best = d[i * t + j];
          bi = i;
          bj = j;
        }
      }
    }
    merges.push({ a: node[bi], b: node[bj], dist: best });
    // the merged cluster lives on in slot bi
    for (let k = 0; k < t; k++) {
      if (!active[k] || k === bi || k === bj) continue;
      const dik = d[bi * t + k];
      const djk = d[bj * t + k];
      const v =
        linkage === 'single' ? Math.min(dik, djk) : linkage === 'complete' ? Math.max(dik, djk) : (count[bi] * dik + count[bj] * djk) / (count[bi] + count[bj]);
      d[bi * t + k] = d[k * t + bi] = v;
    }
    count[bi] += count[bj];
    active[bj] = 0;
    node[bi] = t + step;
  }
  // scipy sorts the merges by distance (stable) and renumbers; these linkages never invert, so the
  // order is already sorted, but renumber through the sort as scipy does.
  const order = merges.map((_, i) => i).sort((x, y) => merges[x].dist - merges[y].dist || x - y);
  const renamed = new Map<number, number>();
  const id = (v: number) => (v < t ? v : renamed.get(v)!);
  const children: [number, number][] = [];
  const distances: number[] = [];
  order.forEach((m, i) => {
    const a = id(merges[m].a);
    const b = id(merges[m].b);
    children.push([Math.min(a, b), Math.max(a, b)]);
    distances.push(merges[m].dist);
    renamed.set(t + m, t + i);
  });
  return { children, distances };
}

/** Python's heapq._siftdown: move heap[pos] up towards startpos while smaller than its parent. */
function siftDown(heap: number[], startpos: number, pos: number): void {
  const item = heap[pos];
  while (pos > startpos) {
    const parentpos = (pos - 1) >> 1;
    if (item < heap[parentpos]) {
      heap[pos] = heap[parentpos];
      pos = parentpos;
      continue;
    }
    break;
  }
  heap[pos] = item;
}

/** Python's heapq._siftup: bubble the smaller child up to a leaf, then siftDown the item. */
function siftUp(heap: number[], pos: number): void {
  const end = heap.length;
  const start = pos;
  const item = heap[pos];
  let child = 2 * pos + 1;
  while (child < end) {
    const right = child + 1;
    if (right < end && !(heap[child] < heap[right])) child = right;
    heap[pos] = heap[child];
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = item;
  siftDown(heap, start, pos);
}

function heappush(heap: number[], item: number): void {
  heap.push(item);
  siftDown(heap, 0, heap.length - 1);
}

function heappushpop(heap: number[], item: number): number {
  if (heap.length > 0 && heap[0] < item) {
    const top = heap[0];
    heap[0] = item;
    siftUp(heap, 0);
    return top;
  }
  return item;
}

/**
 * sklearn's `_hc_cut`: the label (0..k−1) of each of the T leaves for k clusters. Labels are the
 * positions of the clusters' tree nodes in the heap array, not sorted by anything else.
 */
export function cutTree({ children }: Dendrogram, t: number, k: number): Int32Array {
  const labels = new Int32Array(t);
  if (t <= 1) return labels;
  const heap = [-(Math.max(...children[children.length - 1]) + 1)];
  for (let i = 0; i < k - 1; i++) {
    const [c0, c1] = children[-heap[0] - t];
    heappush(heap, -c0);
    heappushpop(heap, -c1);
  }
  heap.forEach((negNode, label) => {
    const stack = [-negNode];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (v < t) labels[v] = label;
      else stack.push(...children[v - t]);
    }
  });
  return labels;
}
