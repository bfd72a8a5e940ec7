/** The engine worker: the host's message loop (engine-host.ts) on the worker global. */
import { useBackend } from '../engine/backends';
import { probeBackends } from '../engine/backend-choice';
import { createEngineHost } from './engine-host';
import type { EngineReply, EngineRequest } from './protocol';
import { EngineSession } from './session';

const receive = createEngineHost({
  session: new EngineSession({ useBackend }),
  probeBackends,
  post: (reply: EngineReply) => (self as unknown as Worker).postMessage(reply),
});
self.onmessage = (event: MessageEvent<EngineRequest>) => void receive(event.data);
