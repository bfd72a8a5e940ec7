/**
 * Random plans for the memory tests: one or two methods, with parameters inside their valid ranges,
 * on the layers of a 4-block model (tests/helpers/tiny-vit.ts). Seeded, so a failure replays.
 */

/** A linear congruential generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A random plan text for a model of at least 4 blocks, drawing from every method but those in `without`. */
export function randomPlan(next: () => number, without: readonly string[] = []): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const one = (layers: string) => {
    let text: string;
    do text = draw(layers);
    while (without.some((m) => text.startsWith(m)));
    return text;
  };
  const draw = (layers: string) =>
    pick([
      () => `tome:r=${1 + Math.floor(next() * 6)}${layers}`,
      () => `pitome:ratio=${(0.5 + 0.45 * next()).toFixed(2)}${layers}`,
      () => `evit:keep=${(0.3 + 0.6 * next()).toFixed(2)}${layers}`,
      () => `topk:keep=${(0.3 + 0.6 * next()).toFixed(2)}${layers}`,
      () => `ats${layers ? `:${layers.slice(1)}` : ''}`,
      () => `mctf:r=${1 + Math.floor(next() * 4)}${layers}`,
      () => `diffrate${layers ? `:${layers.slice(1)}` : ''}`,
      () => `ppt:r=${1 + Math.floor(next() * 4)},threshold=${next() < 0.5 ? 0 : 1}${layers}`,
      () => `atc:keep=${(0.3 + 0.6 * next()).toFixed(2)},linkage=${Math.floor(next() * 3)}${layers}`,
      () => 'none',
    ])();
  // GTP runs alone: its graph spans the forward
  if (!without.includes('gtp') && next() < 0.1)
    return `gtp:p=${1 + Math.floor(next() * 3)},graph=${Math.floor(next() * 3)},scale=${next() < 0.5 ? 1 : 0},sparsity=${next() < 0.5 ? 1 : 0.8}`;
  if (next() < 0.3) return one('');
  const first = one(',layers=1');
  const second = one(',layers=2-3');
  return first === 'none' || second === 'none' ? first : `${first}+${second}`;
}
