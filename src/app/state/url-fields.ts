/**
 * The link fields both pages share: the model, the sample image, the selected block and the backend.
 */
import { formatHubId, parseHubId } from '../../io/catalog';
import type { BackendName } from '../../model/backend';
import type { UrlField } from './url-codec';

export type BackendChoice = 'auto' | BackendName;
// Listed here rather than imported from model/backend.ts, which would pull TF.js into the page's
// bundle (the engine runs in the worker). The record makes the compiler check the list is complete.
const CHOICES: Record<BackendChoice, true> = { auto: true, webgpu: true, webgl: true, wasm: true, cpu: true };
export const BACKEND_CHOICES = Object.keys(CHOICES) as BackendChoice[];

export const sampleField: UrlField<string> = {
  key: 'sample',
  label: 'sample image',
  default: (ctx) => ctx.defaultSample,
  parse: (raw, ctx) => (/^[a-z0-9-]{1,40}$/.test(raw) && ctx.isSample(raw) ? { ok: true, value: raw } : { ok: false, reason: 'not a gallery image' }),
  format: (v) => v,
};

/** Selected block (0-based); null = the last block. */
export const layerField: UrlField<number | null> = {
  key: 'layer',
  label: 'selected layer',
  default: () => null,
  parse(raw, ctx) {
    if (!/^\d{1,4}$/.test(raw)) return { ok: false, reason: 'not a whole number' };
    const l = Number(raw);
    return l < ctx.depth ? { ok: true, value: l } : { ok: false, reason: `the model has blocks 0..${ctx.depth - 1}` };
  },
  format: (v) => (v === null ? '' : String(v)),
};

export const backendField: UrlField<BackendChoice> = {
  key: 'backend',
  label: 'backend',
  default: () => 'auto',
  parse: (raw) =>
    (BACKEND_CHOICES as readonly string[]).includes(raw)
      ? { ok: true, value: raw as BackendChoice }
      : { ok: false, reason: `use one of ${BACKEND_CHOICES.join(', ')}` },
  format: (v) => v,
};

/**
 * A Hugging Face hub model, `owner/name[@revision]`; null = the bundled model. Models from files
 * have no link. Only the id is read: the page never fetches from an address the link names.
 */
export const modelField: UrlField<string | null> = {
  key: 'model',
  label: 'model',
  default: () => null,
  parse(raw) {
    const ref = parseHubId(raw);
    return ref ? { ok: true, value: formatHubId(ref) } : { ok: false, reason: 'not a hub model id (owner/name, optionally @revision)' };
  },
  format: (v) => v ?? '',
  fallback: 'The bundled model runs instead.',
};
