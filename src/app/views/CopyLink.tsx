/**
 * "Copy link": the address of what is on screen. A model loaded from files cannot travel in a
 * link (only hub models can), and the note says so, plainly, at the moment the link is copied.
 */
import { useState } from 'react';
import type { ModelOrigin } from '../worker/protocol';

interface Props {
  origin: ModelOrigin | null;
}

export function CopyLink({ origin }: Props) {
  const [note, setNote] = useState<string | null>(null);
  const copy = async () => {
    const caveat =
      origin?.kind === 'files'
        ? ' It opens the bundled model: a model loaded from your files cannot be linked (only Hugging Face hub models can). Share the files, or put them on the hub.'
        : origin?.kind === 'hub'
          ? ' It opens the same hub model (from the offline copy, or after asking to download it).'
          : '';
    try {
      await navigator.clipboard.writeText(location.href);
      setNote(`Link copied.${caveat}`);
    } catch {
      setNote(`The browser did not allow copying; the link is the address bar's.${caveat}`);
    }
  };
  return (
    <span className="copy-link">
      <button type="button" onClick={() => void copy()} data-testid="copy-link">
        Copy link
      </button>
      {note && (
        <span className="muted small" role="status" data-testid="copy-link-note">
          {' '}
          {note}
        </span>
      )}
    </span>
  );
}
