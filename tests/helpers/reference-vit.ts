/**
 * An independent ViT forward in plain float64 loops over timm-named arrays — no TF.js — used as
 * the oracle for our model code. Written from the timm definition (pre-norm blocks, exact GELU,
 * LayerNorm with biased variance, classifier on CLS, mean of two heads when distilled).
 */
import type { VitConfig } from '../../src/model/config';
import type { NamedArrays } from '../../src/model/weights';

export type Mat = number[][];

export function get(w: NamedArrays, name: string): Float32Array {
  const e = w.get(name);
  if (!e) throw new Error(`reference: missing ${name}`);
  return e.data;
}

/** y[n][o] = sum_i x[n][i] * W[o][i] + b[o]  (W stored [out, in] like PyTorch). */
export function linear(x: Mat, W: Float32Array, b: Float32Array, out: number): Mat {
  const inDim = x[0].length;
  return x.map((row) => {
    const y = new Array<number>(out);
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += row[i] * W[o * inDim + i];
      y[o] = s;
    }
    return y;
  });
}

export function layerNorm(x: Mat, g: Float32Array, b: Float32Array, eps: number): Mat {
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
  });
}

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse; use a series/continued-fraction split accurate to ~1e-12.
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}

export const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

/** The tokens entering block 0 [N][D]: class (+ distillation) token and patches, positions added. */
export function referenceEmbed(config: VitConfig, w: NamedArrays, pixels: number[][][]): Mat {
  const D = config.hidden_size;
  const p = config.patch_size;
  const C = config.num_channels;
  const g = config.image_size / p;
  // patch embedding: conv with kernel [D, C, p, p], stride p
  const conv = get(w, 'patch_embed.proj.weight');
  const convB = get(w, 'patch_embed.proj.bias');
  const patches: Mat = [];
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      const out = new Array<number>(D).fill(0);
      for (let d = 0; d < D; d++) {
        let s = convB[d];
        for (let c = 0; c < C; c++)
          for (let ky = 0; ky < p; ky++) for (let kx = 0; kx < p; kx++) s += conv[((d * C + c) * p + ky) * p + kx] * pixels[gy * p + ky][gx * p + kx][c];
        out[d] = s;
      }
      patches.push(out);
    }
  }
  const special: Mat = [Array.from(get(w, 'cls_token'))];
  if (config.distilled) special.push(Array.from(get(w, 'dist_token')));
  const pos = get(w, 'pos_embed');
  return [...special, ...patches].map((row, n) => row.map((v, d) => v + pos[n * D + d]));
}

/** Options of `referenceAttention`: proportional attention and GTP's sparsification. */
export interface ReferenceAttentionOptions {
  /** log size per key, added to every query's logits. */
  logSize?: number[];
  /** Below 1: per head, probabilities under the ⌊N²(1 − sparsity)⌋-th smallest become 0. */
  sparsity?: number;
}

/** Block l's attention: x + proj(P·v), and every head's P [H][N][N]. */
export function referenceAttention(config: VitConfig, w: NamedArrays, l: number, x: Mat, options: ReferenceAttentionOptions = {}): { x: Mat; probs: Mat[] } {
  const D = config.hidden_size;
  const H = config.num_attention_heads;
  const dh = D / H;
  const N = x.length;
  const k = (s: string) => get(w, `blocks.${l}.${s}`);
  const h = layerNorm(x, k('norm1.weight'), k('norm1.bias'), config.layer_norm_eps);
  const qkv = linear(h, k('attn.qkv.weight'), k('attn.qkv.bias'), 3 * D);
  const attnOut: Mat = Array.from({ length: N }, () => new Array<number>(D).fill(0));
  const probs: Mat[] = [];
  for (let hd = 0; hd < H; hd++) {
    const P: Mat = [];
    for (let i = 0; i < N; i++) {
      const logits = new Array<number>(N);
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let e = 0; e < dh; e++) s += qkv[i][hd * dh + e] * qkv[j][D + hd * dh + e];
        logits[j] = s / Math.sqrt(dh) + (options.logSize?.[j] ?? 0);
      }
      const m = Math.max(...logits);
      const ex = logits.map((v) => Math.exp(v - m));
      const z = ex.reduce((a, v) => a + v, 0);
      P.push(ex.map((v) => v / z));
    }
    if (options.sparsity !== undefined && options.sparsity < 1) {
      const kth = Math.trunc(N * N * (1 - options.sparsity));
      const threshold = P.flat().sort((a, b) => a - b)[kth - 1];
      P.forEach((row) => row.forEach((v, j) => (row[j] = v < threshold ? 0 : v)));
    }
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) for (let e = 0; e < dh; e++) attnOut[i][hd * dh + e] += P[i][j] * qkv[j][2 * D + hd * dh + e];
    probs.push(P);
  }
  const proj = linear(attnOut, k('attn.proj.weight'), k('attn.proj.bias'), D);
  return { x: x.map((row, n) => row.map((v, d) => v + proj[n][d])), probs };
}

/** Block l's MLP residual: x + fc2(GELU(fc1(LN2(x)))). */
export function referenceMlp(config: VitConfig, w: NamedArrays, l: number, x: Mat): Mat {
  const k = (s: string) => get(w, `blocks.${l}.${s}`);
  const h2 = layerNorm(x, k('norm2.weight'), k('norm2.bias'), config.layer_norm_eps);
  const f1 = linear(h2, k('mlp.fc1.weight'), k('mlp.fc1.bias'), config.intermediate_size).map((r) => r.map(gelu));
  const f2 = linear(f1, k('mlp.fc2.weight'), k('mlp.fc2.bias'), config.hidden_size);
  return x.map((row, n) => row.map((v, d) => v + f2[n][d]));
}

/** pixels: [S][S][C] normalised; returns logits. */
export function referenceForward(config: VitConfig, w: NamedArrays, pixels: number[][][]): number[] {
  let x = referenceEmbed(config, w, pixels);
  for (let l = 0; l < config.num_hidden_layers; l++) x = referenceMlp(config, w, l, referenceAttention(config, w, l, x).x);
  return referenceHead(config, w, x);
}

/** Logits from the last tokens: final LayerNorm, the head on CLS (mean with the distillation head). */
export function referenceHead(config: VitConfig, w: NamedArrays, x: Mat): number[] {
  const normed = layerNorm(x, get(w, 'norm.weight'), get(w, 'norm.bias'), config.layer_norm_eps);
  const labels = Object.keys(config.id2label).length;
  const logits = linear([normed[0]], get(w, 'head.weight'), get(w, 'head.bias'), labels)[0];
  if (!config.distilled) return logits;
  const dist = linear([normed[1]], get(w, 'head_dist.weight'), get(w, 'head_dist.bias'), labels)[0];
  return logits.map((v, i) => (v + dist[i]) / 2);
}
