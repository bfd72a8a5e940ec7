/**
 * The stand-in model: seeded random weights in the bundled model's shape (28×28 greyscale,
 * 4×4 patches, width 64, 6 blocks, 2 heads, MLP 128, the 10 Fashion-MNIST labels, the training
 * run's mean and std). Used only while models/fmnist-vit/ does not exist yet; the page says
 * "untrained weights" whenever it is in use. Pure data, shared with the tests.
 */
import { FASHION_MNIST_CLASSES } from '../../io/datasets';

export const FALLBACK_SEED = 7;

export const FALLBACK_CONFIG_JSON = {
  hidden_size: 64,
  num_hidden_layers: 6,
  num_attention_heads: 2,
  intermediate_size: 128,
  image_size: 28,
  patch_size: 4,
  num_channels: 1,
  layer_norm_eps: 1e-6,
  id2label: Object.fromEntries(FASHION_MNIST_CLASSES.map((c, i) => [String(i), c])),
  image_mean: [0.286],
  image_std: [0.353],
};
