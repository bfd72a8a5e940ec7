/**
 * A ViT small enough for unit tests of the engine and the methods: 16×16 RGB in 4×4 patches
 * (16 patches + CLS = 17 tokens), width 16, 2 heads, 4 blocks, 3 classes.
 */
import type { VitConfig } from '../../src/model/config';

export const TINY_VIT: VitConfig = {
  hidden_size: 16,
  num_hidden_layers: 4,
  num_attention_heads: 2,
  intermediate_size: 32,
  image_size: 16,
  patch_size: 4,
  num_channels: 3,
  layer_norm_eps: 1e-6,
  id2label: { 0: 'a', 1: 'b', 2: 'c' },
};
