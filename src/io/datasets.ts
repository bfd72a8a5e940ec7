/**
 * Fashion-MNIST as TokenScope sees it: the file names, the class names, and the checks that turn
 * a parsed images/labels IDX pair into one labelled image set. Pure; loading lives in
 * `node-files.ts` (Node) or goes through `gunzip.ts` + `idx.ts` (browser).
 */
import { TokenScopeError } from '../errors';
import type { IdxArray } from './idx';

export type FashionMnistSplit = 'train' | 'test';

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Base file names per split; each may also exist with a `.gz` suffix. */
export const FASHION_MNIST_FILES: Readonly<Record<FashionMnistSplit, { images: string; labels: string }>> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** Class names by label, 0..9. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

export const FASHION_MNIST_IMAGE_SIZE = 28;

/** Grayscale images with one label each. */
export interface LabelledImages {
  count: number;
  rows: number;
  cols: number;
  /** [count, rows, cols] u8 pixels, row-major. */
  images: Uint8Array;
  /** [count] labels, each < classNames.length. */
  labels: Uint8Array;
  classNames: readonly string[];
}

/**
 * Pairs parsed images ([n, 28, 28]) and labels ([n]) into one set, checking that the counts agree,
 * the images are 28×28 and every label is a class index 0..9. Throws 'data-malformed'.
 */
export function assembleFashionMnist(images: IdxArray, labels: IdxArray, source = 'Fashion-MNIST'): LabelledImages {
  const [count, rows, cols] = images.shape;
  const size = FASHION_MNIST_IMAGE_SIZE;
  if (rows !== size || cols !== size) {
    throw new TokenScopeError('data-malformed', `${source}: images are ${rows}×${cols}, expected ${size}×${size}`, { source });
  }
  if (labels.shape[0] !== count) {
    throw new TokenScopeError('data-malformed', `${source}: ${count} images but ${labels.shape[0]} labels; the files come from different splits or one is damaged`, {
      source,
    });
  }
  const nClasses = FASHION_MNIST_CLASSES.length;
  const bad = labels.data.findIndex((l) => l >= nClasses);
  if (bad >= 0) {
    throw new TokenScopeError('data-malformed', `${source}: label ${labels.data[bad]} at index ${bad} is outside 0..${nClasses - 1}`, { source });
  }
  return { count, rows, cols, images: images.data, labels: labels.data, classNames: FASHION_MNIST_CLASSES };
}
