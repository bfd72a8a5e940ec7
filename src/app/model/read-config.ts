import { TokenScopeError } from '../../errors';
import { parseConfig, type VitConfig } from '../../model/config';
import type { ModelSource } from '../worker/protocol';

/** The config of a model source, read on the page (for the depth the link is checked against) while the worker loads the model. */
export async function readConfig(source: Exclude<ModelSource, { kind: 'files' }>): Promise<VitConfig> {
  if (source.kind !== 'url') return parseConfig(source.configJson);
  const res = await fetch(source.configUrl);
  if (!res.ok) throw new TokenScopeError('data-missing', `could not load the model's config.json: HTTP ${res.status}`);
  return parseConfig(await res.json());
}
