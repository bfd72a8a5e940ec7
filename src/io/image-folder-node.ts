/**
 * An ImageFolder on disk (root/<class>/…/<image>), listed and labelled by the same rules as the
 * browser's folder picker (image-folder.ts): file paths relative to the root, in code-point order
 * (Python's sorted()), so every machine and every shard sees the same list.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TokenScopeError } from '../errors';
import { type LabelRule, matchImageFolder } from './image-folder';

export interface LabelledFile {
  /** Path relative to the folder root, '/'-separated. */
  file: string;
  /** Class index, or null in an unlabelled set (images directly in the root). */
  label: number | null;
}

export interface ListedFolder {
  files: LabelledFile[];
  labelled: boolean;
  skipped: { path: string; reason: string }[];
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every file under `root`, relative and '/'-separated, sorted by code point. */
export function listFiles(root: string): string[] {
  let entries;
  try {
    entries = readdirSync(root, { recursive: true, withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new TokenScopeError('data-missing', `${root} is not a folder; --data takes a folder with one sub-folder of images per class`, { path: root });
    throw e;
  }
  const files: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    files.push(full.slice(root.length).replace(/\\/g, '/').replace(/^\/+/, ''));
  }
  return files.sort(byCodePoint);
}

/** Lists and labels the images under `root`; throws the matching rules' error (unknown folders, …). */
export function readImageFolder(root: string, id2label: Readonly<Record<string, string>>, rule: LabelRule): ListedFolder {
  const files = listFiles(root);
  if (files.length === 0)
    throw new TokenScopeError('data-missing', `${root} holds no files; --data takes a folder with one sub-folder of images per class`, { path: root });
  // matchImageFolder reads picker paths, which start with the picked folder's name.
  const matched = matchImageFolder(
    files.map((f) => `root/${f}`),
    id2label,
    rule,
  );
  if (!matched.ok) throw matched.error;
  const { images, labelled, skipped } = matched.value;
  return {
    labelled,
    files: images.map((im) => ({ file: files[im.index], label: im.label })),
    skipped: skipped.map((s) => ({ ...s, path: s.path.slice('root/'.length) })),
  };
}
