/**
 * The ViT's weights as named trainable parameters. Names are the timm checkpoint keys (for the
 * linear layers the stored layout is our [in, out]; the checkpoint writer transposes).
 */
import * as tf from '@tensorflow/tfjs';
import type { BlockWeights, LayerNormWeights, VitWeights } from '../model/weights';

/** Builds a new VitWeights whose every tensor is `fn(tensor, name)`. Plain ViT only (no distillation token). */
export function mapWeights<T extends tf.Tensor>(w: VitWeights, fn: (t: tf.Tensor, name: string) => T): VitWeights {
  if (w.distToken) throw new Error('mapWeights: distilled models are not trained here');
  const ln = (n: LayerNormWeights, p: string): LayerNormWeights => ({
    gamma: fn(n.gamma, `${p}.weight`) as unknown as tf.Tensor1D,
    beta: fn(n.beta, `${p}.bias`) as unknown as tf.Tensor1D,
  });
  const t2 = (t: tf.Tensor, name: string) => fn(t, name) as unknown as tf.Tensor2D;
  const t1 = (t: tf.Tensor, name: string) => fn(t, name) as unknown as tf.Tensor1D;
  return {
    patchW: t2(w.patchW, 'patch_embed.proj.weight'),
    patchB: t1(w.patchB, 'patch_embed.proj.bias'),
    clsToken: t2(w.clsToken, 'cls_token'),
    posEmbed: t2(w.posEmbed, 'pos_embed'),
    blocks: w.blocks.map((b, l): BlockWeights => {
      const k = `blocks.${l}`;
      return {
        norm1: ln(b.norm1, `${k}.norm1`),
        qkvW: t2(b.qkvW, `${k}.attn.qkv.weight`),
        qkvB: t1(b.qkvB, `${k}.attn.qkv.bias`),
        projW: t2(b.projW, `${k}.attn.proj.weight`),
        projB: t1(b.projB, `${k}.attn.proj.bias`),
        norm2: ln(b.norm2, `${k}.norm2`),
        fc1W: t2(b.fc1W, `${k}.mlp.fc1.weight`),
        fc1B: t1(b.fc1B, `${k}.mlp.fc1.bias`),
        fc2W: t2(b.fc2W, `${k}.mlp.fc2.weight`),
        fc2B: t1(b.fc2B, `${k}.mlp.fc2.bias`),
      };
    }),
    norm: ln(w.norm, 'norm'),
    headW: t2(w.headW, 'head.weight'),
    headB: t1(w.headB, 'head.bias'),
  };
}

/** Weight decay applies to matrices of linear layers and the patch embedding, not to biases, LayerNorms, CLS or positions. */
export function decays(name: string): boolean {
  return name.endsWith('.weight') && !/norm\d?\.weight$/.test(name);
}

export interface TrainableParams {
  weights: VitWeights;
  /** In listWeights order. */
  variables: tf.Variable[];
  names: string[];
}

/** Turns weights into trainable variables (the input tensors are disposed). */
export function makeTrainable(w: VitWeights): TrainableParams {
  const variables: tf.Variable[] = [];
  const names: string[] = [];
  const weights = mapWeights(w, (t, name) => {
    const v = tf.variable(t, true, `p/${name}`);
    t.dispose();
    variables.push(v);
    names.push(name);
    return v;
  });
  return { weights, variables, names };
}
