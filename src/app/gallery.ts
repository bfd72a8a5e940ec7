/**
 * The bundled sample images, by id (the `sample` URL field). Photos and Fashion-MNIST PNGs come
 * from public/images (sources and licences in public/NOTICE); `eval-<i>` is image i of the bundled
 * 1,000-image Fashion-MNIST evaluation subset (public/data). Paths are relative, so the built site
 * works from any folder.
 */
import { FASHION_MNIST_CLASSES } from '../io/datasets';

export type GalleryItem =
  | { id: string; kind: 'file'; title: string; path: string; trueLabel?: string; credit: string }
  | { id: string; kind: 'eval'; title: string; index: number; credit: string };

const photo = (id: string, file: string, title: string, credit: string): GalleryItem => ({ id, kind: 'file', title, path: `images/${file}`, credit });

const FMNIST_FILES: [number, string, number][] = [
  [0, 'ankle-boot', 9],
  [1, 'pullover', 2],
  [2, 'trouser', 1],
  [4, 'shirt', 6],
  [6, 'coat', 4],
  [8, 'sandal', 5],
  [9, 'sneaker', 7],
  [13, 'dress', 3],
  [18, 'bag', 8],
  [19, 't-shirt-top', 0],
];

export const EVAL_SET_PATH = 'data/fmnist-test-1000.bin';
export const EVAL_SET_SIZE = 1000;
/** A few evaluation-set images shown in the gallery (any eval-<i> works in a link). */
const EVAL_PICKS = [100, 305, 512, 777, 950];

export const GALLERY: readonly GalleryItem[] = [
  ...FMNIST_FILES.map(([index, name, label]): GalleryItem => ({
    id: `fm-${name}`,
    kind: 'file',
    title: FASHION_MNIST_CLASSES[label],
    path: `images/fmnist/test-${String(index).padStart(4, '0')}-${name}.png`,
    trueLabel: FASHION_MNIST_CLASSES[label],
    credit: `Fashion-MNIST test image ${index} (Zalando, MIT)`,
  })),
  ...EVAL_PICKS.map((i): GalleryItem => ({
    id: `eval-${i}`,
    kind: 'eval',
    title: `eval #${i}`,
    index: i,
    credit: 'bundled Fashion-MNIST eval subset (Zalando, MIT)',
  })),
  photo('chelsea', 'chelsea.jpg', 'Cat (Chelsea)', 'scikit-image sample, CC0'),
  photo('coffee', 'coffee.jpg', 'Coffee cup', 'scikit-image sample, CC0'),
  photo('astronaut', 'astronaut.jpg', 'Astronaut', 'NASA, public domain'),
  photo('rocket', 'rocket.jpg', 'Rocket launch', 'SpaceX, public domain'),
  photo('grace-hopper', 'grace_hopper.jpg', 'Grace Hopper', 'U.S. Navy, public domain'),
];

export const DEFAULT_SAMPLE = 'fm-ankle-boot';
/** The photo an RGB model starts on when the page was showing a Fashion-MNIST sample. */
export const DEFAULT_PHOTO = 'chelsea';

/** The gallery in the order that suits the model: photos first for an RGB (ImageNet) model. */
export function galleryFor(channels: number): readonly GalleryItem[] {
  if (channels !== 3) return GALLERY;
  const photos = GALLERY.filter((g) => g.kind === 'file' && !g.id.startsWith('fm-'));
  return [...photos, ...GALLERY.filter((g) => !photos.includes(g))];
}

/** A Fashion-MNIST sample (a file or an eval-set image), as opposed to a photo. */
export const isFashionSample = (id: string) => id.startsWith('fm-') || id.startsWith('eval-');

export function findSample(id: string): GalleryItem | null {
  const listed = GALLERY.find((g) => g.id === id);
  if (listed) return listed;
  const m = /^eval-(\d{1,4})$/.exec(id);
  if (m && Number(m[1]) < EVAL_SET_SIZE && String(Number(m[1])) === m[1]) {
    const index = Number(m[1]);
    return { id, kind: 'eval', title: `eval #${index}`, index, credit: 'bundled Fashion-MNIST eval subset (Zalando, MIT)' };
  }
  return null;
}

export const isSample = (id: string) => findSample(id) !== null;
