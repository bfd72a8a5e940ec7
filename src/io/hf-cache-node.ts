/**
 * Hub checkpoints in Node, kept in the Hugging Face cache layout that Python's huggingface_hub
 * uses, so a model already downloaded from Python is not downloaded again and one downloaded here
 * is found by Python:
 *
 *   $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub
 *     models--<owner>--<name>/
 *       refs/<revision>              the commit a branch or tag pointed to when last resolved
 *       blobs/<etag>                 file contents, named by ETag (the sha256 for LFS files)
 *       blobs/<etag>.incomplete      an interrupted download, resumed with Range (hub.ts)
 *       snapshots/<commit>/<file>    relative symlinks into blobs/
 *
 * A snapshot that already holds model.safetensors is used without touching the network.
 * HF_HUB_OFFLINE=1 never touches it: the revision must resolve in the cache (refs/ or a commit).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, dirname } from 'node:path';
import { TokenScopeError } from '../errors';
import { HUB_BASE_URL } from './catalog';
import { downloadBytes } from './hub';

export interface HubId {
  repo: string;
  revision: string;
}

/** `owner/name` or `owner/name@revision`; null when `text` is not shaped like one. */
export function parseHubId(text: string): HubId | null {
  const m = /^([A-Za-z0-9][\w.-]*)\/([\w.-]+)(?:@([\w./-]+))?$/.exec(text);
  return m ? { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' } : null;
}

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface', 'hub');
}

export const repoFolder = (repo: string) => `models--${repo.replace(/\//g, '--')}`;

const isOffline = (env: NodeJS.ProcessEnv) => ['1', 'true', 'yes', 'on'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase());
const isCommit = (rev: string) => /^[0-9a-f]{40}$/.test(rev);

export interface Snapshot {
  dir: string;
  commit: string;
  fromCache: boolean;
}

export interface HubFetchOptions {
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  hubBase?: string;
  onProgress?: (p: { file: string; receivedBytes: number; totalBytes: number | null }) => void;
  retryDelayMs?: number;
  /** Extra attempts per file within this run (default 4); a later run resumes what is left. */
  retries?: number;
}

const FILES = [
  { name: 'config.json', required: false },
  { name: 'preprocessor_config.json', required: false },
  { name: 'model.safetensors', required: true },
] as const;

function cachedCommit(repoDir: string, revision: string): string | null {
  if (isCommit(revision)) return existsSync(join(repoDir, 'snapshots', revision)) ? revision : null;
  const ref = join(repoDir, 'refs', revision);
  return existsSync(ref) ? readFileSync(ref, 'utf8').trim() : null;
}

/** The snapshot folder of `id`, downloading model.safetensors (and the configs) when missing. */
export async function ensureHubSnapshot(id: HubId, opts: HubFetchOptions = {}): Promise<Snapshot> {
  const env = opts.env ?? process.env;
  const repoDir = join(hubCacheDir(env), repoFolder(id.repo));
  const commit = cachedCommit(repoDir, id.revision);
  if (commit && existsSync(join(repoDir, 'snapshots', commit, 'model.safetensors'))) {
    return { dir: join(repoDir, 'snapshots', commit), commit, fromCache: true };
  }
  if (isOffline(env)) {
    throw new TokenScopeError(
      'data-missing',
      `HF_HUB_OFFLINE is set and ${id.repo}@${id.revision} is not in the Hugging Face cache (${repoDir}${commit ? `, snapshot ${commit} has no model.safetensors` : ''}); download it once online, or unset HF_HUB_OFFLINE`,
      { repo: id.repo },
    );
  }
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const base = opts.hubBase ?? HUB_BASE_URL;
  let snapshotCommit: string | null = null;
  for (const file of FILES) {
    const url = `${base}/${id.repo}/resolve/${encodeURIComponent(id.revision)}/${file.name}`;
    // The hub names the commit and the content hash on the first response, before any redirect
    // to the file store (huggingface_hub asks the same way).
    let head: Response;
    try {
      head = await doFetch(url, { method: 'HEAD', redirect: 'manual' });
    } catch (e) {
      throw new TokenScopeError('download-failed', `could not reach ${base} for ${id.repo} (${(e as Error).message}); set HF_HUB_OFFLINE=1 to use the cache only`, {
        url,
      });
    }
    if ([401, 403, 404].includes(head.status)) {
      if (!file.required) continue;
      throw new TokenScopeError(
        'data-missing',
        `${id.repo}@${id.revision} has no ${file.name} (the hub answered ${head.status}); check the repository id and revision`,
        { url },
      );
    }
    const fileCommit = head.headers.get('x-repo-commit');
    const etag = (head.headers.get('x-linked-etag') ?? head.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
    if (!fileCommit || !etag) {
      throw new TokenScopeError('download-failed', `the hub's answer for ${url} named no commit or ETag (status ${head.status})`, { url });
    }
    snapshotCommit ??= fileCommit;
    const blob = join(repoDir, 'blobs', etag);
    if (!existsSync(blob)) await downloadBlob(url, blob, file.name, doFetch, opts);
    const link = join(repoDir, 'snapshots', snapshotCommit, file.name);
    mkdirSync(dirname(link), { recursive: true });
    rmSync(link, { force: true });
    symlinkSync(relative(dirname(link), blob), link);
  }
  if (!isCommit(id.revision)) {
    mkdirSync(join(repoDir, 'refs'), { recursive: true });
    writeFileSync(join(repoDir, 'refs', id.revision), snapshotCommit!);
  }
  return { dir: join(repoDir, 'snapshots', snapshotCommit!), commit: snapshotCommit!, fromCache: false };
}

/** Downloads into `<blob>.incomplete` (resuming what is there), then renames it into place. */
async function downloadBlob(url: string, blob: string, file: string, doFetch: typeof fetch, opts: HubFetchOptions): Promise<void> {
  mkdirSync(dirname(blob), { recursive: true });
  const partial = `${blob}.incomplete`;
  const meta = `${partial}.json`; // total length and ETag of the partial file, to resume safely
  let resumeFrom: { bytes: Uint8Array; totalBytes: number; etag: string | null } | undefined;
  if (existsSync(partial) && existsSync(meta)) {
    try {
      const m = JSON.parse(readFileSync(meta, 'utf8')) as { totalBytes: number; etag: string | null };
      resumeFrom = { bytes: new Uint8Array(readFileSync(partial)), totalBytes: m.totalBytes, etag: m.etag };
    } catch {
      resumeFrom = undefined;
    }
  }
  const fd = openSync(partial, resumeFrom ? 'r+' : 'w');
  try {
    const { bytes } = await downloadBytes(url, {
      fetch: async (input, init) => {
        const res = await doFetch(input, init);
        const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? res.headers.get('content-length'));
        if (res.ok && total > 0) writeFileSync(meta, JSON.stringify({ totalBytes: total, etag: res.headers.get('etag') }));
        return res;
      },
      resumeFrom,
      retryDelayMs: opts.retryDelayMs,
      retries: opts.retries,
      onChunk: (chunk, offset) => void writeSync(fd, chunk, 0, chunk.length, offset),
      onProgress: (p) => opts.onProgress?.({ file, receivedBytes: p.receivedBytes, totalBytes: p.totalBytes }),
    });
    if (statSync(partial).size !== bytes.length) writeFileSync(partial, bytes);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, blob);
  rmSync(meta, { force: true });
}
