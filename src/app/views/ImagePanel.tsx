/**
 * Image in: a file picker, drag and drop onto the panel, paste anywhere on the page (the App
 * listens), and a gallery of the bundled samples. Errors are shown here; the last good image stays.
 */
import { useEffect, useRef, useState } from 'react';
import { type GalleryItem } from '../gallery';
import type { GreyImages } from '../../io/grey-images';

interface Props {
  selectedSample: string | null;
  onFile(file: File): void;
  onSample(id: string): void;
  error: string | null;
  busy: boolean;
  evalSet: GreyImages | null;
  /** The samples in the order to show them (gallery.ts galleryFor). */
  gallery: readonly GalleryItem[];
}

function EvalThumb({ set, index }: { set: GreyImages; index: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const px = set.size * set.size;
    const img = ctx.createImageData(set.size, set.size);
    for (let i = 0; i < px; i++) {
      const v = set.images[index * px + i];
      img.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
  }, [set, index]);
  return <canvas ref={ref} width={set.size} height={set.size} className="thumb" aria-hidden="true" />;
}

function Thumb({ item, evalSet }: { item: GalleryItem; evalSet: GreyImages | null }) {
  if (item.kind === 'file') return <img src={item.path} alt="" className="thumb" loading="lazy" />;
  return evalSet ? <EvalThumb set={evalSet} index={item.index} /> : <span className="thumb" />;
}

export function ImagePanel({ selectedSample, onFile, onSample, error, busy, evalSet, gallery }: Props) {
  const [dragging, setDragging] = useState(false);
  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) onFile(file);
  };
  return (
    <section
      className={`panel image-panel${dragging ? ' dragging' : ''}`}
      aria-labelledby="image-title"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <h2 id="image-title">Image</h2>
      <p className="muted">Choose a file, drop one here, paste one (Ctrl+V), or pick a sample. Images stay in your browser.</p>
      <label className="file-button">
        <input
          type="file"
          accept="image/*"
          data-testid="image-file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) onFile(file);
            e.target.value = '';
          }}
        />
        <span>Choose an image…</span>
      </label>
      {busy && <span className="muted"> decoding…</span>}
      {error && (
        <p className="field-error" role="alert" data-testid="image-error">
          {error}
        </p>
      )}
      <ul className="gallery" aria-label="Sample images">
        {gallery.map((item) => (
          <li key={item.id}>
            <button
              type="button"
              className="gallery-item"
              aria-pressed={item.id === selectedSample}
              data-testid={`sample-${item.id}`}
              onClick={() => onSample(item.id)}
              title={`${item.title} — ${item.credit}`}
            >
              <Thumb item={item} evalSet={evalSet} />
              <span className="gallery-title">{item.title}</span>
            </button>
          </li>
        ))}
      </ul>
      <p className="muted small">Sources and licences: NOTICE in the site's folder (photos CC0 / public domain; Fashion-MNIST © Zalando, MIT).</p>
    </section>
  );
}
