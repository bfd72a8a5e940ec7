/**
 * The model in use — always named, with where it came from — and the picker to choose another.
 * A link that names a hub model not yet in this browser asks before downloading it.
 */
import type { ReactNode } from 'react';
import { describeOrigin } from '../model/origin';
import type { ModelInfo } from '../worker/protocol';

export interface LinkPrompt {
  /** The linked model's display name and hub id. */
  name: string;
  id: string;
  sizeMb: number | null;
  onDownload(): void;
  onStay(): void;
}

interface Props {
  model: ModelInfo | null;
  error: string | null;
  /** The model picker (ModelPicker.tsx). */
  picker: ReactNode;
  linkPrompt: LinkPrompt | null;
}

export function ModelSlot({ model, error, picker, linkPrompt }: Props) {
  const c = model?.config;
  return (
    <section className="model-slot" aria-label="Model">
      {model && c ? (
        <p>
          Model <strong data-testid="model-name">{model.name}</strong> <span data-testid="model-origin">({describeOrigin(model.origin)})</span>: ViT,{' '}
          {c.num_hidden_layers} blocks, width {c.hidden_size}, {c.num_attention_heads} heads, {c.image_size}×{c.image_size}×{c.num_channels} input in {c.patch_size}×
          {c.patch_size} patches ({(c.image_size / c.patch_size) ** 2} patch tokens), {Object.keys(c.id2label).length} classes, {(model.parameters / 1e6).toFixed(2)}{' '}
          M parameters
          {model.untrained && (
            <strong className="untrained" data-testid="untrained-notice">
              {' '}
              — untrained weights (seeded random stand-in): predictions mean nothing
            </strong>
          )}
        </p>
      ) : (
        <p>{error ? null : 'Loading the model…'}</p>
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {linkPrompt && (
        <div className="link-prompt" role="alert" data-testid="link-prompt">
          <p>
            This link opens <strong>{linkPrompt.name}</strong> ({linkPrompt.id}
            {linkPrompt.sizeMb !== null ? `, ${linkPrompt.sizeMb} MB` : ''}) from the Hugging Face hub. It is not in this browser yet, so nothing was downloaded; the
            bundled model runs meanwhile.
          </p>
          <button type="button" onClick={linkPrompt.onDownload} data-testid="link-download">
            Download and open it
          </button>{' '}
          <button type="button" onClick={linkPrompt.onStay} data-testid="link-stay">
            Stay on the bundled model
          </button>
        </div>
      )}
      {picker}
    </section>
  );
}
