/**
 * The model in use, and the slot where a model picker goes.
 *
 * MODEL PICKER SLOT — the picker (src/app/views/ModelPicker.tsx, owned by the checkpoint/hub work)
 * renders through the `renderPicker` prop (see App.tsx), with this interface:
 *
 *   <ModelPicker onModelLoaded={(files: LoadedModelFiles) => void} />
 *
 * The App passes `onModelLoaded`; it hands the files to the engine worker, which disposes the old
 * model before loading the new one, and re-checks the plan and the link against the new depth.
 */
import type { ReactNode } from 'react';
import type { ModelInfo } from '../worker/protocol';

/** What a model picker hands over: the two files of a checkpoint, already in memory. */
export interface LoadedModelFiles {
  name: string;
  /** Parsed config.json (Hugging Face ViTConfig names). */
  configJson: unknown;
  /** model.safetensors bytes (timm, Hugging Face ViT or DeiT names); transferred to the worker. */
  safetensors: Uint8Array;
}

export interface ModelPickerProps {
  onModelLoaded(files: LoadedModelFiles): void;
}

interface Props {
  model: ModelInfo | null;
  error: string | null;
  onModelLoaded(files: LoadedModelFiles): void;
  /** Renders the model picker into the slot (absent until the picker exists). */
  renderPicker?: (props: ModelPickerProps) => ReactNode;
}

export function ModelSlot({ model, error, onModelLoaded, renderPicker }: Props) {
  const c = model?.config;
  return (
    <section className="model-slot" aria-label="Model">
      {model && c ? (
        <p>
          Model <strong data-testid="model-name">{model.name}</strong>: ViT, {c.num_hidden_layers} blocks, width {c.hidden_size}, {c.num_attention_heads} heads,{' '}
          {c.image_size}×{c.image_size}×{c.num_channels} input in {c.patch_size}×{c.patch_size} patches, {Object.keys(c.id2label).length} classes,{' '}
          {(model.parameters / 1e6).toFixed(2)} M parameters
          {model.untrained && (
            <strong className="untrained" data-testid="untrained-notice">
              {' '}
              — untrained weights (seeded random stand-in until the trained model is bundled): predictions mean nothing
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
      <div className="picker-slot" data-slot="model-picker">
        {renderPicker?.({ onModelLoaded }) ?? null}
      </div>
    </section>
  );
}
