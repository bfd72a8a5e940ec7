/**
 * Node-only file access for the io layer: read bytes, gunzip with zlib, and the loaders built on
 * them. Nothing else in src/io imports Node, so browser and worker bundles never pull this in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TokenScopeError } from '../errors';
import { assembleFashionMnist, FASHION_MNIST_DIR, FASHION_MNIST_FILES, type FashionMnistSplit, type LabelledImages } from './datasets';
import { DEFAULT_MAX_GUNZIP_BYTES } from './gunzip';
import { isGzip, parseIdxImages, parseIdxLabels } from './idx';
import { parseSafetensors, type SafetensorsFile, type SafetensorsReadOptions } from './safetensors';

/** The whole file as bytes. A missing file throws 'data-missing' naming the path and `hint`. */
export function readFileBytes(path: string, hint = ''): Uint8Array {
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TokenScopeError('data-missing', `${path} does not exist${hint ? `; ${hint}` : ''}`, { path });
    }
    throw e;
  }
}

/**
 * Decompresses gzip `bytes` with zlib; non-gzip input is returned as is. Corrupt data or output
 * above `maxOutputBytes` throws 'data-malformed'.
 */
export function gunzipNode(bytes: Uint8Array, source = 'gzip data', maxOutputBytes = DEFAULT_MAX_GUNZIP_BYTES): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const buf = gunzipSync(bytes, { maxOutputLength: maxOutputBytes });
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new TokenScopeError('data-malformed', `${source}: gzip data is corrupt or too large (${e instanceof Error ? e.message : String(e)})`, { source });
  }
}

/** Reads and parses a safetensors file; see `parseSafetensors` for the checks. */
export function readSafetensorsFile(path: string, opts?: SafetensorsReadOptions): SafetensorsFile {
  return parseSafetensors(readFileBytes(path), opts);
}

const FASHION_MNIST_FIX = 'install it with `apt-get install dataset-fashion-mnist`';

/** Finds `<dir>/<base>.gz` or `<dir>/<base>`, or throws 'data-missing' naming the file and the fix. */
function findDataFile(dir: string, base: string): string {
  for (const candidate of [join(dir, `${base}.gz`), join(dir, base)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new TokenScopeError(
    'data-missing',
    `Fashion-MNIST file ${join(dir, `${base}.gz`)} is missing (nor is there an uncompressed ${base}); ${FASHION_MNIST_FIX}`,
    { dir, file: base },
  );
}

/**
 * Loads one Fashion-MNIST split (train: 60,000 images, test: 10,000; 28×28 u8, labels 0..9) from
 * `dir`, gzipped or not. Throws 'data-missing' with the fix when a file is absent, and
 * 'data-malformed' when one fails the IDX checks.
 */
export function loadFashionMnist(split: FashionMnistSplit, dir = FASHION_MNIST_DIR): LabelledImages {
  const names = FASHION_MNIST_FILES[split];
  const imagesPath = findDataFile(dir, names.images);
  const labelsPath = findDataFile(dir, names.labels);
  const images = parseIdxImages(gunzipNode(readFileBytes(imagesPath, FASHION_MNIST_FIX), imagesPath), imagesPath);
  const labels = parseIdxLabels(gunzipNode(readFileBytes(labelsPath, FASHION_MNIST_FIX), labelsPath), labelsPath);
  return assembleFashionMnist(images, labels, `Fashion-MNIST ${split} (${dir})`);
}
