/**
 * A link that names a hub model (`?model=owner/name[@revision]`), as both pages open it: from the
 * offline copy in Cache Storage when every file is there, otherwise only after the user agrees to
 * download it. The link's plan and block belong to that model, so they are set aside until it has
 * loaded (they may not fit the bundled model that runs meanwhile).
 */
import { parseHubId, type HubModelRef } from '../../io/catalog';
import { offlineHubFiles, openBrowserCache } from '../../io/hub';
import { hubModelName } from '../views/ModelPicker';
import type { ModelSource } from '../worker/protocol';
import { hubBase } from './hub-base';

export interface LinkedModel {
  ref: HubModelRef;
  name: string;
  /** The link's raw plan and block for this model, if it gave them. */
  plan: string | null;
  layer: string | null;
}

/** The hub model a query names, and the query without the fields that depend on it. */
export function readLinkedModel(search: string, dependent: readonly string[] = ['plan', 'layer']): { linked: LinkedModel | null; rest: string } {
  const query = new URLSearchParams(search);
  const raw = query.get('model');
  const ref = raw === null ? null : parseHubId(raw);
  if (!ref) return { linked: null, rest: search };
  const linked = { ref, name: hubModelName(ref), plan: query.get('plan'), layer: query.get('layer') };
  for (const key of dependent) query.delete(key);
  return { linked, rest: `?${query.toString()}` };
}

/** The model's files from this browser's offline copy as a source for the worker, or null. */
export async function offlineModelSource(ref: HubModelRef): Promise<ModelSource | null> {
  const cache = await openBrowserCache();
  const offline = cache ? await offlineHubFiles(ref, { cache, hubBase: hubBase() }).catch(() => null) : null;
  if (!offline) return null;
  return { kind: 'files', name: hubModelName(ref), origin: { kind: 'hub', repo: ref.repo, revision: ref.revision, fromCache: true }, files: offline.files };
}
