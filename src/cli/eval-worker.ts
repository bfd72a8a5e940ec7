/**
 * A worker thread of `eval`/`sweep --workers N`: its own wasm backend and model, scoring the
 * groups the main thread sends ({ id, files }) and answering { id, group } or { id, error }; the
 * main thread ends it with terminate() when the run is over.
 * Started through eval-worker.mjs, which registers tsx so this TypeScript runs in place.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LabelledFile } from '../io/image-folder-node';
import { FolderScorer, type ScorerSetup } from './folder-scorer';

const port = parentPort!;
try {
  const scorer = await FolderScorer.create(workerData as ScorerSetup);
  port.on('message', async (msg: { id: number; files: LabelledFile[] }) => {
    try {
      port.postMessage({ id: msg.id, group: await scorer.score(msg.files) });
    } catch (e) {
      port.postMessage({ id: msg.id, error: (e as Error).message });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ failed: (e as Error).message });
}
