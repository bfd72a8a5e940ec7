/**
 * Fidelity of a reduced run to the unreduced model on the same image, from the two logit vectors:
 * top-k lists, top-1 agreement and the KL divergence KL(unreduced ‖ reduced) in nats. Needs no
 * labels, so it works on any uploaded image.
 */

/** Softmax with the max subtracted (stable); float64. */
export function softmax(logits: ArrayLike<number>): number[] {
  const xs = Array.from(logits);
  const max = Math.max(...xs);
  const exps = xs.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export interface Ranked {
  index: number;
  label: string;
  prob: number;
}

/** The k most probable classes, highest first (ties: lower index first). */
export function topK(probs: number[], labels: Record<string, string>, k = 5): Ranked[] {
  return probs
    .map((prob, index) => ({ index, prob, label: labels[String(index)] ?? `class ${index}` }))
    .sort((a, b) => b.prob - a.prob || a.index - b.index)
    .slice(0, k);
}

/** KL(p ‖ q) = Σ p log(p / q) in nats; terms with p = 0 add nothing; q is floored at 1e-12. */
export function klDivergence(p: number[], q: number[]): number {
  if (p.length !== q.length) throw new Error(`KL divergence needs two distributions of the same length, got ${p.length} and ${q.length}`);
  let kl = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) kl += p[i] * Math.log(p[i] / Math.max(q[i], 1e-12));
  return Math.max(0, kl);
}

export interface Fidelity {
  top: Ranked[];
  baselineTop: Ranked[];
  agree: boolean;
  kl: number;
}

export function fidelity(logits: number[], baselineLogits: number[], labels: Record<string, string>): Fidelity {
  const q = softmax(logits);
  const p = softmax(baselineLogits);
  const top = topK(q, labels);
  const baselineTop = topK(p, labels);
  return { top, baselineTop, agree: top[0].index === baselineTop[0].index, kl: klDivergence(p, q) };
}
