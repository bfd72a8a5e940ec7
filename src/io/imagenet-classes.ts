/**
 * ImageNet-1k class names in the standard class-index order (0 = "tench, Tinca tinca", …,
 * 999 = "toilet tissue, toilet paper, bathroom tissue"), the order every ImageNet-1k classifier
 * head here uses (timm, Hugging Face ViT/DeiT). The list is data from the npm package
 * @tensorflow-models/mobilenet (Apache-2.0; see public/NOTICE), used for checkpoints that carry
 * 1,000 classes but no names (timm's config.json has none).
 */
import { IMAGENET_CLASSES } from '@tensorflow-models/mobilenet/dist/imagenet_classes.js';

export const IMAGENET_CLASS_COUNT = 1000;

/** id2label for ImageNet-1k: `{ "0": "tench, Tinca tinca", … }`. */
export function imagenetId2Label(): Record<string, string> {
  return Object.fromEntries(Array.from({ length: IMAGENET_CLASS_COUNT }, (_, i) => [String(i), IMAGENET_CLASSES[i]]));
}
