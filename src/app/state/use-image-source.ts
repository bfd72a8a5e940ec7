/**
 * The current picture: a gallery sample or a user's file (picker, drop, or paste anywhere on the
 * page). Only the newest request wins; a failure keeps the last good picture and says why.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { TokenScopeError } from '../../errors';
import { errorMessage } from '../error-message';
import { findSample } from '../gallery';
import { type ImageSource, loadFile, loadSample } from '../image/sources';

export interface ImageState {
  source: ImageSource | null;
  error: string | null;
  busy: boolean;
  showSample(id: string): Promise<void>;
  showFile(file: File): Promise<void>;
}

export function useImageSource(onUpload: () => void): ImageState {
  const [source, setSource] = useState<ImageSource | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const latest = useRef(0);

  const load = useCallback(async (get: () => Promise<ImageSource>, explain: (e: unknown) => string) => {
    const request = ++latest.current;
    setBusy(true);
    try {
      const loaded = await get();
      if (request !== latest.current) return false;
      setSource(loaded);
      setError(null);
      return true;
    } catch (e) {
      if (request === latest.current) setError(explain(e));
      return false;
    } finally {
      if (request === latest.current) setBusy(false);
    }
  }, []);

  const showSample = useCallback(
    async (id: string) => {
      const item = findSample(id);
      if (item)
        await load(
          () => loadSample(item),
          (e) => `The sample could not be loaded: ${errorMessage(e)}`,
        );
    },
    [load],
  );

  const showFile = useCallback(
    async (file: File) => {
      const ok = await load(
        () => loadFile(file),
        (e) => (e instanceof TokenScopeError ? e.message : `${file.name} could not be read: ${errorMessage(e)}`),
      );
      if (ok) onUpload();
    },
    [load, onUpload],
  );

  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const file = [...(e.clipboardData?.files ?? [])][0];
      if (!file) return;
      e.preventDefault();
      void showFile(file);
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [showFile]);

  return { source, error, busy, showSample, showFile };
}
