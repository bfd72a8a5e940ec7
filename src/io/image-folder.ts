/**
 * A folder of images — picked in the browser (<input type="file" webkitdirectory>) or listed on
 * disk by the command line (image-folder-node.ts) — read the way torchvision's ImageFolder reads
 * one: root/<class>/…/<image>. Pure: paths in, an assignment of labels out; decoding is the
 * caller's business.
 *
 * Matching class folders to the model's labels (config.json id2label):
 *   - case-insensitive, surrounding spaces ignored: "coat", "Coat" and " COAT " are all Coat;
 *   - a '/' in a label is written '_' in the folder name, since folder names cannot hold '/':
 *     the folder for "T-shirt/top" is "T-shirt_top" (labelFolderName gives the spelling);
 *   - a folder matching no label is an error that lists the unknown folders and every label with
 *     its folder spelling — nothing is evaluated half-labelled.
 * Or, with the rule 'sorted', by torchvision's ImageFolder rule: the class folders sorted by name
 * (code-point order, as Python's sorted()) get indices 0, 1, 2, … — which gives ImageNet's WNID
 * folders (n01440764, …) the standard 0–999 indices. The folder count must then equal the model's
 * label count.
 * Images directly in the picked folder (no class folder) make an unlabelled set, good for
 * fidelity (agreement and KL to the unreduced model) only. When there are class folders too, loose
 * images are left out and reported. Non-image files and hidden files (".DS_Store") are skipped.
 */
import { TokenScopeError, type Parsed } from '../errors';

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp'] as const;

/** A list short enough to read in a sentence: an ImageNet model has 1,000 labels. */
export function listForText(items: readonly string[], max = 30): string[] {
  return items.length <= max ? [...items] : [...items.slice(0, max), `… and ${items.length - max} more (the model's config.json id2label lists them all)`];
}

/** The folder name that stands for `label`. */
export const labelFolderName = (label: string) => label.replace(/\//g, '_');

/** The form folder names and labels are compared in. */
export const normaliseClassName = (name: string) => labelFolderName(name.trim()).toLowerCase();

export interface FolderImage {
  /** Index into the input list (to find the File). */
  index: number;
  path: string;
  /** Class index from id2label, or null in an unlabelled set. */
  label: number | null;
}

export interface ImageFolder {
  labelled: boolean;
  images: FolderImage[];
  /** Class folder name → label index, for the classes present. */
  classes: Map<string, number>;
  /** Files not used, with why (shown to the user). */
  skipped: { path: string; reason: string }[];
}

const isHidden = (segment: string) => segment.startsWith('.');
const extension = (name: string) => /\.([^./]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';

/** How class folders get their indices: by the model's label names, or by sorted folder name. */
export type LabelRule = 'names' | 'sorted';

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Assigns labels to picked files. `paths` are webkitRelativePath values ("root/Coat/a.png"), or
 * plain names when files were picked without a folder (then the set is unlabelled).
 */
export function matchImageFolder(paths: readonly string[], id2label: Readonly<Record<string, string>>, rule: LabelRule = 'names'): Parsed<ImageFolder> {
  const byName = new Map<string, number>();
  for (const [id, label] of Object.entries(id2label)) {
    const key = normaliseClassName(label);
    if (!byName.has(key)) byName.set(key, Number(id));
  }
  const skipped: ImageFolder['skipped'] = [];
  const usable: { index: number; path: string; segments: string[] }[] = [];
  paths.forEach((path, index) => {
    const segments = path.split('/').filter((s) => s !== '');
    if (segments.length === 0) return;
    if (segments.some(isHidden)) return skipped.push({ path, reason: 'hidden file' });
    if (!(IMAGE_EXTENSIONS as readonly string[]).includes(extension(segments[segments.length - 1]))) {
      return skipped.push({ path, reason: `not an image (${IMAGE_EXTENSIONS.join(', ')})` });
    }
    usable.push({ index, path, segments });
  });
  if (usable.length === 0) {
    return { ok: false, error: new TokenScopeError('data-missing', `no images among the ${paths.length} file(s) picked; use ${IMAGE_EXTENSIONS.join(', ')} files`) };
  }
  // root/<class>/…/image: at least three segments; a plain name or root/image has no class folder.
  const inClass = usable.filter((u) => u.segments.length >= 3);
  if (inClass.length === 0) {
    return { ok: true, value: { labelled: false, images: usable.map(({ index, path }) => ({ index, path, label: null })), classes: new Map(), skipped } };
  }
  for (const u of usable) if (u.segments.length < 3) skipped.push({ path: u.path, reason: 'not inside a class folder' });
  const classes = new Map<string, number>();
  if (rule === 'sorted') {
    const folders = [...new Set(inClass.map((u) => u.segments[1]))].sort(byCodePoint);
    const labels = Object.keys(id2label).length;
    if (folders.length !== labels) {
      return {
        ok: false,
        error: new TokenScopeError(
          'shape-mismatch',
          `--labels sorted numbers the ${folders.length} class folder${folders.length === 1 ? '' : 's'} 0–${folders.length - 1}, but the model has ${labels} labels; ` +
            'give a folder per label, or match folders to label names instead',
          { folders: folders.length, labels },
        ),
      };
    }
    folders.forEach((f, i) => classes.set(f, i));
    return {
      ok: true,
      value: { labelled: true, images: inClass.map(({ index, path, segments }) => ({ index, path, label: classes.get(segments[1])! })), classes, skipped },
    };
  }
  const unknown = new Set<string>();
  for (const u of inClass) {
    const folder = u.segments[1];
    const label = byName.get(normaliseClassName(folder));
    if (label === undefined) unknown.add(folder);
    else classes.set(folder, label);
  }
  if (unknown.size > 0) {
    const known = Object.values(id2label).map((l) => (labelFolderName(l) === l ? l : `${l} (folder "${labelFolderName(l)}")`));
    const list = [...unknown]
      .sort()
      .map((f) => JSON.stringify(f))
      .join(', ');
    return {
      ok: false,
      error: new TokenScopeError(
        'data-malformed',
        `class folder${unknown.size === 1 ? '' : 's'} ${list} match${unknown.size === 1 ? 'es' : ''} none of the model's labels. ` +
          `Name each folder after a label (case does not matter; write '/' as '_'): ${listForText(known).join(', ')}.`,
        { unknown: [...unknown].sort(), known: Object.values(id2label) },
      ),
    };
  }
  return {
    ok: true,
    value: {
      labelled: true,
      images: inClass.map(({ index, path, segments }) => ({ index, path, label: classes.get(segments[1])! })),
      classes,
      skipped,
    },
  };
}
