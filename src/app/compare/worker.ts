/** The compare page's worker: the host's message loop (host.ts) on the worker global. */
import { useBackend } from '../engine/backends';
import { probeBackends } from '../engine/backend-choice';
import { PersistentCache } from './cache';
import { createCompareHost } from './host';
import type { CompareReply, CompareRequest } from './protocol';
import { CompareSession } from './session';

const receive = createCompareHost({
  session: new CompareSession({ useBackend, cache: new PersistentCache() }),
  probeBackends,
  post: (reply: CompareReply) => (self as unknown as Worker).postMessage(reply),
});
self.onmessage = (event: MessageEvent<CompareRequest>) => void receive(event.data);
