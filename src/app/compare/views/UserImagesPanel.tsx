/**
 * The user's own images: a folder (ImageFolder layout, root/<class>/<image>, labels from the folder
 * names) or loose files (no labels). They are decoded and preprocessed here, the way the playground
 * prepares an upload, and stay in this browser. With labels the sweep reports top-1 accuracy; without,
 * fidelity only: top-1 agreement and mean KL divergence to the unreduced model.
 */
import { useState } from 'react';
import type { PreprocessSpec } from '../../../io/preprocess';
import type { VitConfig } from '../../../model/config';
import { errorMessage } from '../../error-message';
import { decodeImageFile } from '../../image/decode';
import { prepareInput } from '../../image/preprocess';
import { contentHash } from '../hash';
import { labelFolderName, listForText, matchImageFolder } from '../image-folder';
import type { EvalData } from '../protocol';

export const MAX_USER_IMAGES = 2000;

interface Props {
  config: VitConfig;
  /** The model's own preprocessing (ModelInfo.preprocess). */
  preprocess: PreprocessSpec;
  disabled: boolean;
  onEvaluate(data: Extract<EvalData, { kind: 'images' }>): void;
}

interface Loaded {
  data: Extract<EvalData, { kind: 'images' }>;
  labelled: boolean;
  classes: string[];
  skipped: { path: string; reason: string }[];
}

export function UserImagesPanel({ config, preprocess, disabled, onEvaluate }: Props) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [decoding, setDecoding] = useState<{ done: number; total: number } | null>(null);

  const load = async (list: FileList | null) => {
    const files = list ? [...list] : [];
    if (files.length === 0) return;
    setError(null);
    const paths = files.map((f) => f.webkitRelativePath || f.name);
    const match = matchImageFolder(paths, config.id2label);
    if (!match.ok) {
      setLoaded(null);
      setError(match.error.message);
      return;
    }
    const { images, labelled, classes } = match.value;
    if (images.length > MAX_USER_IMAGES) {
      setError(`${images.length} images picked; at most ${MAX_USER_IMAGES} are evaluated here. Pick a smaller folder.`);
      return;
    }
    const S = config.image_size;
    const C = config.num_channels;
    const px = S * S * C;
    const pixels: Float32Array[] = [];
    const u8s: Uint8Array[] = [];
    const labels: number[] = [];
    const skipped = [...match.value.skipped];
    setDecoding({ done: 0, total: images.length });
    for (const [i, img] of images.entries()) {
      try {
        const decoded = await decodeImageFile(files[img.index], img.path);
        const input = prepareInput(decoded.rgba, preprocess);
        pixels.push(input.pixels);
        u8s.push(input.u8);
        if (img.label !== null) labels.push(img.label);
      } catch (e) {
        skipped.push({ path: img.path, reason: errorMessage(e) });
      }
      if (i % 10 === 9) setDecoding({ done: i + 1, total: images.length });
    }
    setDecoding(null);
    if (pixels.length === 0) {
      setError('None of the images could be decoded.');
      setLoaded(null);
      return;
    }
    const all = new Float32Array(pixels.length * px);
    pixels.forEach((p, i) => all.set(p, i * px));
    const labelArray = labelled ? Uint16Array.from(labels) : null;
    const root = paths[0].includes('/') ? paths[0].split('/')[0] : 'picked files';
    const key = await contentHash([...u8s, labelArray ? new Uint8Array(labelArray.buffer) : new Uint8Array(0)]);
    setLoaded({
      data: { kind: 'images', name: root, key, count: pixels.length, size: S, channels: C, pixels: all, labels: labelArray },
      labelled,
      classes: [...classes.keys()].sort(),
      skipped,
    });
  };

  const folderProps = { webkitdirectory: '', directory: '' } as Record<string, string>;
  const folderNames = listForText(Object.values(config.id2label).map(labelFolderName));
  return (
    <section className="panel" aria-labelledby="user-title">
      <h2 id="user-title">Your images</h2>
      <p className="muted">
        A folder with one sub-folder per class (<code>my-set/Coat/…png</code>) gives labels, so top-1 accuracy too. Folder names must be the model's labels (case
        does not matter; a '/' in a label is written '_'): {folderNames.join(', ')}. Loose images, or a folder without class folders, give fidelity only: agreement
        and KL to the unreduced model. Images never leave this browser.
      </p>
      <div className="run-row">
        <label className="file-button">
          <input
            type="file"
            multiple
            {...folderProps}
            onChange={(e) => void load(e.target.files).finally(() => (e.target.value = ''))}
            data-testid="folder-input"
            disabled={disabled}
          />
          <span>Pick a folder…</span>
        </label>
        <label className="file-button">
          <input
            type="file"
            multiple
            accept="image/*"
            onChange={(e) => void load(e.target.files).finally(() => (e.target.value = ''))}
            data-testid="files-input"
            disabled={disabled}
          />
          <span>Pick images…</span>
        </label>
        {decoding && (
          <span aria-live="polite">
            decoding {decoding.done} of {decoding.total}…
          </span>
        )}
      </div>
      {error && (
        <p className="field-error" role="alert" data-testid="folder-error">
          {error}
        </p>
      )}
      {loaded && (
        <>
          <p data-testid="user-set-summary">
            {loaded.data.count} image{loaded.data.count === 1 ? '' : 's'} from “{loaded.data.name}”,{' '}
            {loaded.labelled ? `labelled by folder (${loaded.classes.join(', ')})` : 'without labels (fidelity only)'}
            {loaded.skipped.length > 0 && `; ${loaded.skipped.length} file(s) skipped`}.
          </p>
          {loaded.skipped.length > 0 && (
            <details>
              <summary>Skipped files</summary>
              <ul className="small">
                {loaded.skipped.slice(0, 50).map((s) => (
                  <li key={s.path}>
                    {s.path}: {s.reason}
                  </li>
                ))}
              </ul>
            </details>
          )}
          <button type="button" onClick={() => onEvaluate(loaded.data)} disabled={disabled} data-testid="run-user-sweep">
            Run the sweep on these images
          </button>
        </>
      )}
    </section>
  );
}
