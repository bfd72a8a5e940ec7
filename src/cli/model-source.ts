/**
 * `--model` for the folder commands: a local directory or .safetensors file, or a Hugging Face hub
 * id `owner/name[@revision]`, resolved to a snapshot folder in the Hugging Face cache
 * (src/io/hf-cache-node.ts), downloading what is missing with a progress line on stderr.
 */
import { existsSync } from 'node:fs';
import { TokenScopeError } from '../errors';
import { ensureHubSnapshot, parseHubId } from '../io/hf-cache-node';
import { formatDuration } from './progress';

export interface ResolvedModel {
  /** A directory or .safetensors file on this machine. */
  path: string;
  /** How it was found, in words. */
  source: string;
}

function progressLine() {
  let last = 0;
  const started = performance.now();
  return ({ file, receivedBytes, totalBytes }: { file: string; receivedBytes: number; totalBytes: number | null }) => {
    const now = performance.now();
    if (now - last < 1000 && receivedBytes !== totalBytes) return;
    last = now;
    const mb = (b: number) => (b / 1e6).toFixed(1);
    const rate = receivedBytes / 1e6 / Math.max((now - started) / 1000, 1e-9);
    const eta = totalBytes && rate > 0 ? ` ETA ${formatDuration((totalBytes - receivedBytes) / 1e6 / rate)}` : '';
    process.stderr.write(`download ${file} ${mb(receivedBytes)}${totalBytes ? `/${mb(totalBytes)}` : ''} MB  ${rate.toFixed(1)} MB/s${eta}\n`);
  };
}

export async function resolveModel(name: string): Promise<ResolvedModel> {
  if (existsSync(name)) return { path: name, source: name };
  const id = parseHubId(name);
  if (!id) {
    throw new TokenScopeError('data-missing', `--model ${name}: no such file or folder, and not a hub id (owner/name or owner/name@revision)`, { path: name });
  }
  const snapshot = await ensureHubSnapshot(id, { onProgress: progressLine() });
  return { path: snapshot.dir, source: `${id.repo}@${snapshot.commit} (${snapshot.fromCache ? 'Hugging Face cache' : 'downloaded into the Hugging Face cache'})` };
}
