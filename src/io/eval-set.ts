/**
 * The bundled evaluation set: labelled u8 images in one small binary file, read by the same code
 * in Node and the browser (public/data/fmnist-test-1000.bin: 100 test images per Fashion-MNIST
 * class, 789,020 bytes).
 *
 * Format, version 1 (all integers little-endian):
 *
 *   offset      size          field
 *   0           4             magic "TSEV" (54 53 45 56)
 *   4           1             version = 1
 *   5           1             channels C (1 = greyscale)
 *   6           2   u16       side S (images are S×S)
 *   8           4   u32       count n
 *   12          2   u16       classes K (every label < K)
 *   14          2   u16       reserved, 0
 *   16          4n  u32[n]    index of each image in its source split (e.g. Fashion-MNIST test)
 *   16+4n       n   u8[n]     labels
 *   16+5n       n·S·S·C u8    pixels, image after image, row-major, channels last
 *   end−4       4   u32       CRC-32 (IEEE) of every byte before it
 *
 * Class names are not stored: they come with the model (config.json id2label).
 */
import { TokenScopeError } from '../errors';
import { crc32 } from './crc32';
import type { GreyImages } from './grey-images';

export const EVAL_SET_MAGIC = 'TSEV';
export const EVAL_SET_VERSION = 1;
const HEADER_BYTES = 16;

export interface EvalSet extends GreyImages {
  channels: number;
  classes: number;
  /** [count] index of each image in its source split. */
  sourceIndex: Uint32Array;
}

/** Expected file size for a set of these dimensions. */
export function evalSetByteLength(count: number, side: number, channels: number): number {
  return HEADER_BYTES + 5 * count + count * side * side * channels + 4;
}

/** Encodes a set as format version 1. */
export function encodeEvalSet(set: EvalSet): Uint8Array {
  const { count, size, channels, classes } = set;
  const px = size * size * channels;
  if (set.images.length !== count * px || set.labels.length !== count || set.sourceIndex.length !== count) {
    throw new TokenScopeError(
      'shape-mismatch',
      `eval set: ${count} images of ${size}×${size}×${channels} need ${count * px} pixels, ${count} labels and ${count} indices; got ${set.images.length}, ${set.labels.length}, ${set.sourceIndex.length}`,
    );
  }
  const bad = set.labels.findIndex((l) => l >= classes);
  if (bad >= 0) throw new TokenScopeError('shape-mismatch', `eval set: label ${set.labels[bad]} at ${bad} is not below the class count ${classes}`);
  const out = new Uint8Array(evalSetByteLength(count, size, channels));
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(EVAL_SET_MAGIC), 0);
  view.setUint8(4, EVAL_SET_VERSION);
  view.setUint8(5, channels);
  view.setUint16(6, size, true);
  view.setUint32(8, count, true);
  view.setUint16(12, classes, true);
  for (let i = 0; i < count; i++) view.setUint32(HEADER_BYTES + 4 * i, set.sourceIndex[i], true);
  out.set(set.labels, HEADER_BYTES + 4 * count);
  out.set(set.images, HEADER_BYTES + 5 * count);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/**
 * Parses and checks a version-1 file: magic, version, dimensions against the byte length, the
 * checksum, and every label below the class count. Throws 'data-malformed' saying what is wrong;
 * `source` names the file in messages. The result's arrays are copies (the input can be freed).
 */
export function parseEvalSet(bytes: Uint8Array, source = 'eval set'): EvalSet {
  const bad = (what: string): never => {
    throw new TokenScopeError('data-malformed', `${source}: ${what}`, { source });
  };
  if (bytes.length < HEADER_BYTES + 4) bad(`file is ${bytes.length} bytes, too short for the ${HEADER_BYTES}-byte header and checksum`);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== EVAL_SET_MAGIC) bad(`does not start with the magic "${EVAL_SET_MAGIC}" (found ${JSON.stringify(magic)}); not a TokenScope eval set`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(4);
  if (version !== EVAL_SET_VERSION) bad(`format version ${version} is not supported (this reader knows version ${EVAL_SET_VERSION})`);
  const channels = view.getUint8(5);
  const size = view.getUint16(6, true);
  const count = view.getUint32(8, true);
  const classes = view.getUint16(12, true);
  if (channels < 1 || size < 1 || classes < 1) bad(`header declares ${size}×${size}×${channels} images and ${classes} classes; each must be at least 1`);
  const expected = evalSetByteLength(count, size, channels);
  if (bytes.length !== expected) {
    bad(`header declares ${count} images of ${size}×${size}×${channels}, which take ${expected} bytes, but the file has ${bytes.length}; it is truncated or padded`);
  }
  const stored = view.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes.subarray(0, bytes.length - 4));
  if (stored !== actual) bad(`checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}); the file is corrupt`);
  const sourceIndex = new Uint32Array(count);
  for (let i = 0; i < count; i++) sourceIndex[i] = view.getUint32(HEADER_BYTES + 4 * i, true);
  const labels = bytes.slice(HEADER_BYTES + 4 * count, HEADER_BYTES + 5 * count);
  const badLabel = labels.findIndex((l) => l >= classes);
  if (badLabel >= 0) bad(`label ${labels[badLabel]} of image ${badLabel} is not below the class count ${classes}`);
  const images = bytes.slice(HEADER_BYTES + 5 * count, bytes.length - 4);
  return { count, size, channels, classes, sourceIndex, labels, images };
}

/** The first `perClass` images of each class, in source order (a balanced, deterministic subset). */
export function balancedSubset(set: GreyImages, classes: number, perClass: number): EvalSet {
  const taken = new Array<number>(classes).fill(0);
  const picked: number[] = [];
  for (let i = 0; i < set.count && picked.length < classes * perClass; i++) {
    const l = set.labels[i];
    if (l < classes && taken[l] < perClass) {
      taken[l]++;
      picked.push(i);
    }
  }
  const short = taken.findIndex((t) => t < perClass);
  if (short >= 0) throw new TokenScopeError('data-malformed', `class ${short} has only ${taken[short]} images, fewer than ${perClass}`);
  const px = set.size * set.size;
  const images = new Uint8Array(picked.length * px);
  picked.forEach((src, i) => images.set(set.images.subarray(src * px, (src + 1) * px), i * px));
  return {
    count: picked.length,
    size: set.size,
    channels: 1,
    classes,
    sourceIndex: Uint32Array.from(picked),
    labels: Uint8Array.from(picked, (i) => set.labels[i]),
    images,
  };
}
