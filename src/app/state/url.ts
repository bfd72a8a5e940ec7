/**
 * The playground's shareable state, read from and written to the URL query through one field
 * table (url-codec.ts); a new field is one line of FIELDS.
 *
 *   ?model=timm/deit_tiny_patch16_224.fb_in1k&plan=evit:keep=0.5,layers=1/3&sample=chelsea&layer=4&backend=wasm
 *
 * The plan is parsed by the plan grammar; a bad one runs the unreduced model. `v=1` marks the
 * format version.
 */
import { formatPlan, parsePlan } from '../../reduce/plan';
import { defaultState, type FieldTable, readQuery, type UrlContext, type UrlField, writeQuery } from './url-codec';
import { type BackendChoice, backendField, layerField, modelField, sampleField } from './url-fields';
import { lessonField, presentField, stepField } from '../lessons/url-fields';

const planField: UrlField<string> = {
  key: 'plan',
  label: 'plan',
  default: () => 'none',
  parse(raw, ctx) {
    const parsed = parsePlan(raw, ctx.depth);
    if (!parsed.ok) return { ok: false, reason: parsed.error.message };
    return { ok: true, value: formatPlan(parsed.value) };
  },
  format: (v) => v,
  fallback: 'The unreduced model runs instead.',
};

export interface UrlState {
  /** A hub model id (`owner/name[@revision]`); null = the bundled model. */
  model: string | null;
  plan: string;
  sample: string;
  /** Selected block (0-based); null = the last block. */
  layer: number | null;
  backend: BackendChoice;
  /** A lesson id, 'index' for the list of lessons, or null outside the lessons. */
  lesson: string | null;
  /** 1-based step of the lesson. */
  step: number;
  /** The presenter layout: large type, large grid, controls hidden. */
  present: boolean;
}

/** The field table: the only list of persisted state. */
const FIELDS: FieldTable<UrlState> = {
  model: modelField,
  plan: planField,
  sample: sampleField,
  layer: layerField,
  backend: backendField,
  lesson: lessonField,
  step: stepField,
  present: presentField,
};

export const URL_VERSION = 1;

export const defaultUrlState = (ctx: UrlContext): UrlState => defaultState(FIELDS, ctx);

/** Reads the state from a query string; anything invalid keeps its default and is reported. */
export const parseUrl = (search: string, ctx: UrlContext) => readQuery(search, FIELDS, ctx, { version: URL_VERSION });

/** Writes the state as a query string ('' when everything is at its default). */
export const formatUrl = (state: UrlState, ctx: UrlContext): string => writeQuery(state, FIELDS, ctx, { version: URL_VERSION });
