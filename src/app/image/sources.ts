/**
 * Where pictures come from: gallery samples (files under public/, or images of the bundled eval
 * set) and user files. Each becomes an ImageSource: an RGBA picture plus what the page shows
 * about it. Browser-only (fetch, createImageBitmap).
 */
import { parseEvalSet, type EvalSet } from '../../io/eval-set';
import { EVAL_SET_PATH, type GalleryItem } from '../gallery';
import { decodeImageFile, greyToRgba } from './decode';
import type { RgbaImage } from './preprocess';

export interface ImageSource {
  /** Same key, same pixels: the worker caches the unreduced run per key. */
  key: string;
  name: string;
  rgba: RgbaImage;
  /** What the browser did before preprocessing (decode and scale), if anything. */
  browserStep: string | null;
  /** Class index of a labelled sample. */
  trueLabel?: number;
  sampleId: string | null;
}

let evalSet: Promise<EvalSet> | null = null;

/** The bundled 1,000-image eval set, fetched and checked once. */
export function loadEvalSet(): Promise<EvalSet> {
  evalSet ??= fetch(EVAL_SET_PATH)
    .then((r) => {
      if (!r.ok) throw new Error(`could not load ${EVAL_SET_PATH}: HTTP ${r.status}`);
      return r.arrayBuffer();
    })
    .then((b) => parseEvalSet(new Uint8Array(b), EVAL_SET_PATH));
  evalSet.catch(() => (evalSet = null));
  return evalSet;
}

const FMNIST_LABEL_FROM_FILE: Record<string, number> = {
  't-shirt-top': 0,
  trouser: 1,
  pullover: 2,
  dress: 3,
  coat: 4,
  sandal: 5,
  shirt: 6,
  sneaker: 7,
  bag: 8,
  'ankle-boot': 9,
};

export async function loadSample(item: GalleryItem): Promise<ImageSource> {
  if (item.kind === 'eval') {
    const set = await loadEvalSet();
    const px = set.size * set.size * set.channels;
    const u8 = set.images.subarray(item.index * px, (item.index + 1) * px);
    return {
      key: `sample:${item.id}`,
      name: `eval image ${item.index} (Fashion-MNIST test #${set.sourceIndex[item.index]})`,
      rgba: greyToRgba(u8, set.size),
      browserStep: null,
      trueLabel: set.labels[item.index],
      sampleId: item.id,
    };
  }
  const res = await fetch(item.path);
  if (!res.ok) throw new Error(`could not load ${item.path}: HTTP ${res.status}`);
  const decoded = await decodeImageFile(await res.blob(), item.title);
  const fm = /^fm-(.+)$/.exec(item.id);
  return {
    key: `sample:${item.id}`,
    name: item.title,
    rgba: decoded.rgba,
    browserStep: decoded.browserStep,
    trueLabel: fm ? FMNIST_LABEL_FROM_FILE[fm[1]] : undefined,
    sampleId: item.id,
  };
}

let uploads = 0;

export async function loadFile(file: File): Promise<ImageSource> {
  const decoded = await decodeImageFile(file, file.name || 'the pasted image');
  return { key: `upload:${++uploads}:${file.name}`, name: decoded.name, rgba: decoded.rgba, browserStep: decoded.browserStep, sampleId: null };
}
