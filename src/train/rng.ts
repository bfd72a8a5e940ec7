/**
 * Seeded, counter-based randomness for training. Every random draw of a run is a pure function of
 * (seed, epoch, batch), so a run resumed at any batch boundary replays exactly the same shuffles
 * and augmentations as an uninterrupted one: the only RNG "state" to save is that position.
 */

/** A stream of uniform numbers in [0, 1) (mulberry32: 32-bit state, period 2^32). */
export interface Rng {
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

/** Mixes integers into one 32-bit seed (murmur3's finaliser over a running hash). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A Fisher–Yates shuffle of 0..n-1 drawn from `rng`. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Stream ids, so that shuffling and augmentation never share draws. */
export const STREAM = { shuffle: 1, augment: 2, init: 3 } as const;

/** The epoch's order of the training set. */
export function epochOrder(seed: number, epoch: number, n: number): Uint32Array {
  return permutation(n, mulberry32(mixSeed(seed, STREAM.shuffle, epoch)));
}

/** The random stream for one batch's augmentation. */
export function batchRng(seed: number, epoch: number, batch: number): Rng {
  return mulberry32(mixSeed(seed, STREAM.augment, epoch, batch));
}
