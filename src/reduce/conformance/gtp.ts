/**
 * Runs cases/gtp (Ackesnal/GTP-ViT @ bb9991e, models_v3.py) through our GTP pieces: the graph
 * built before block 0 (`gtpGraph`), the sparsified attention (ops.ts, the model's own path) and
 * one block's select + propagate (`gtpDecide`).
 */
import * as tf from '@tensorflow/tfjs';
import { attentionLogits, type KthSmallest, mergeHeads, sparsifyAttention, sparsityRank, splitHeads } from '../../model/ops';
import { GTP_GRAPHS, gtpDecide, gtpGraph, type GtpGraphType } from '../gtp';
import { floatTensor, toNested, type CaseOutputs, type CaseRunner, type ConformanceCase, type Nested } from './case';

/** The official graph_type spelling ('Spatial', ...) to ours. */
function graphType(name: unknown): GtpGraphType {
  const type = String(name).toLowerCase() as GtpGraphType;
  if (!GTP_GRAPHS.includes(type)) throw new Error(`unknown GTP graph type '${String(name)}'`);
  return type;
}

const capitalised = (s: string) => s[0].toUpperCase() + s.slice(1);

/** `fn`'s plain outputs, with every tensor it made freed. */
function tidyOutputs(fn: () => CaseOutputs): CaseOutputs {
  let out: CaseOutputs = {};
  tf.tidy(() => {
    out = fn();
  });
  return out;
}

function runGraph(c: ConformanceCase): CaseOutputs {
  const type = graphType(c.params.graph_type);
  return tidyOutputs(() => {
    const x = floatTensor(c.inputs.x as Nested) as tf.Tensor3D;
    const graph = gtpGraph(x, { graph: type, neighbours: Number(c.params.num_neighbours) }, Boolean(c.params.class_token));
    return { graph: toNested(graph), graph_type_effective: capitalised(type) };
  });
}

function runAttention(c: ConformanceCase): CaseOutputs {
  return tidyOutputs(() => {
    const { attn, xAttn } = gtpAttention(c);
    return { k: sparsityRank(attn.shape[2], Number(c.params.sparsity)), attn: toNested(attn), x_attn: toNested(xAttn) };
  });
}

/**
 * An attention case's outputs as tensors, for the caller to read and free (inside a tidy): the
 * sparsified probabilities [B, H, N, N] and P·v with the heads merged. `kthSmallest` picks each
 * row's threshold (default: top-k); WebGPU's program is checked against the cases with it
 * (tests/e2e/webgpu-kernels), reading asynchronously as a WebGPU page must.
 */
export function gtpAttention(c: ConformanceCase, kthSmallest?: KthSmallest): { attn: tf.Tensor4D; xAttn: tf.Tensor3D } {
  const heads = Number(c.params.H);
  const sparsity = Number(c.params.sparsity);
  const qkv = floatTensor(c.inputs.qkv as Nested) as tf.Tensor3D;
  const [q, k, v] = (tf.split(qkv, 3, 2) as tf.Tensor3D[]).map((t) => splitHeads(t, heads));
  const logSize = c.inputs.token_scales === null ? undefined : (tf.log(floatTensor(c.inputs.token_scales as Nested)) as tf.Tensor2D);
  const dense = tf.softmax(attentionLogits(q, k, logSize)) as tf.Tensor4D;
  const attn = sparsity < 1 ? sparsifyAttention(dense, sparsity, kthSmallest) : dense;
  return { attn, xAttn: mergeHeads(tf.matMul(attn, v)) as tf.Tensor3D };
}

function runReduce(c: ConformanceCase): CaseOutputs {
  const classToken = Boolean(c.params.class_token);
  const off = classToken ? 1 : 0;
  return tidyOutputs(() => {
    const x = floatTensor(c.inputs.x as Nested) as tf.Tensor3D;
    const probs = floatTensor(c.inputs.attn as Nested) as tf.Tensor4D;
    const graph = floatTensor(c.inputs.weight as Nested) as tf.Tensor3D;
    const scales = c.inputs.token_scales === null ? undefined : (floatTensor(c.inputs.token_scales as Nested) as tf.Tensor2D);
    const d = gtpDecide(x, probs, graph, { p: Number(c.params.num_prop), alpha: Number(c.params.alpha) }, scales, classToken);
    const [batch, t] = d.order.shape;
    const tokenIndex = (from: number, size: number) => toNested(tf.add(tf.slice(d.order, [0, from], [batch, size]), tf.scalar(off, 'int32')));
    return {
      n_out: d.x.shape[1],
      token_rank: toNested(d.scores),
      index_kept: tokenIndex(0, d.kept),
      index_prop: tokenIndex(d.kept, t - d.kept),
      x_out: toNested(d.x),
      weight_out: toNested(d.graphNext),
      token_scales_out: d.scales ? toNested(d.scales) : null,
    };
  });
}

export const runGtpCase: CaseRunner = (c) => {
  switch (c.params.kind) {
    case 'graph':
      return runGraph(c);
    case 'attention':
      return runAttention(c);
    case 'reduce':
      return runReduce(c);
    default:
      throw new Error(`unknown GTP case kind '${String(c.params.kind)}'`);
  }
};
