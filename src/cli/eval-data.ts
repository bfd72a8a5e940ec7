/** What `eval` and `sweep` share: the model and the labelled greyscale set, checked against each other. */
import { TokenScopeError } from '../errors';
import { FASHION_MNIST_DIR } from '../io/datasets';
import { parseEvalSet } from '../io/eval-set';
import { greyBatches, type GreyImages, type LabelledBatch } from '../io/grey-images';
import { loadFashionMnist, readFileBytes } from '../io/node-files';
import type { Model } from '../model/run';

export const DATA_OPTIONS = {
  model: { type: 'string', default: 'models/fmnist-vit' },
  data: { type: 'string' },
  'eval-set': { type: 'string' },
  limit: { type: 'string' },
  batch: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export const DATA_HELP = `  --model DIR       model directory (default models/fmnist-vit)
  --data DIR        Fashion-MNIST IDX files; evaluates the 10,000 test images (default ${FASHION_MNIST_DIR})
  --eval-set FILE   a TokenScope eval-set file instead, e.g. public/data/fmnist-test-1000.bin
  --limit N         only the first N images
  --batch B         images per forward pass (default 100)`;

export function positiveInt(flag: string, v: string | undefined, fallback: number | undefined): number | undefined {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new TokenScopeError('param-out-of-range', `${flag} needs a positive integer, got ${JSON.stringify(v)}`);
  return x;
}

function loadImages(values: { data?: string; 'eval-set'?: string }): { set: GreyImages; name: string } {
  if (values.data && values['eval-set']) throw new TokenScopeError('param-out-of-range', 'give --data or --eval-set, not both');
  if (values['eval-set']) {
    const path = values['eval-set'];
    const s = parseEvalSet(readFileBytes(path), path);
    if (s.channels !== 1) throw new TokenScopeError('shape-mismatch', `${path} holds ${s.channels}-channel images; eval reads greyscale sets`);
    return { set: s, name: path };
  }
  const dir = values.data ?? FASHION_MNIST_DIR;
  const t = loadFashionMnist('test', dir);
  return { set: { count: t.count, size: t.rows, images: t.images, labels: t.labels }, name: `Fashion-MNIST test (${dir})` };
}

export interface LabelledData {
  name: string;
  /** Images that will be evaluated (after --limit). */
  n: number;
  /** A fresh pass over the set, normalised as the model's config says. */
  batches(): Iterable<LabelledBatch>;
}

/** Loads the set named by the options and checks it fits the model. */
export function labelledData(model: Model, values: { data?: string; 'eval-set'?: string; limit?: string; batch?: string }): LabelledData {
  const { config } = model;
  const limit = positiveInt('--limit', values.limit, undefined);
  const batchSize = positiveInt('--batch', values.batch, 100)!;
  const { set, name } = loadImages(values);
  if (config.num_channels !== 1 || config.image_size !== set.size) {
    throw new TokenScopeError(
      'shape-mismatch',
      `the model takes ${config.image_size}×${config.image_size}×${config.num_channels} images; ${name} has ${set.size}×${set.size}×1`,
    );
  }
  const mean = config.image_mean?.[0] ?? 0.5;
  const std = config.image_std?.[0] ?? 0.5;
  return { name, n: Math.min(set.count, limit ?? set.count), batches: () => greyBatches(set, { batchSize, mean, std, limit }) };
}
