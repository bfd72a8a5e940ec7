import { describe, expect, it } from 'vitest';
import { TokenScopeError } from '../../errors';
import type { BackendName } from '../../model/backend';
import { createEngineHost } from './engine-host';
import type { BackendProbe, EngineReply, RunInput } from './protocol';
import type { SessionRun } from './session';

const probes: BackendProbe[] = [
  { name: 'webgpu', available: true, software: false, detail: 'GPU' },
  { name: 'webgl', available: true, software: true, detail: 'SwiftShader' },
  { name: 'wasm', available: true, software: false, detail: '' },
  { name: 'cpu', available: true, software: false, detail: '' },
];
const input: RunInput = { key: 'k', size: 1, channels: 1, pixels: new Float32Array(1) };

/** A session whose backends fail as told; runs return their plan and backend. */
function fakeSession(failStart: BackendName[] = [], failRun: BackendName[] = []) {
  let active: BackendName | null = null;
  const ran: string[] = [];
  return {
    ran,
    get activeBackend() {
      return active;
    },
    async useBackend(name: BackendName) {
      if (failStart.includes(name)) throw new TokenScopeError('backend-unavailable', `${name} will not start`);
      active = name;
    },
    async loadModel() {
      throw new Error('not used');
    },
    async run(_: RunInput, plan: string) {
      if (plan === 'bad') throw new TokenScopeError('plan-invalid', 'bad plan');
      if (failRun.includes(active!)) throw new Error('shader compilation failed');
      ran.push(`${plan}@${active}`);
      return { plan, backend: active } as unknown as SessionRun;
    },
    async time() {
      return null;
    },
  };
}

function host(session: ReturnType<typeof fakeSession>) {
  const replies: EngineReply[] = [];
  const receive = createEngineHost({ session: session as never, probeBackends: async () => probes, post: (r) => replies.push(r) });
  return { replies, receive };
}

describe('createEngineHost', () => {
  it('set-backend skips a backend that fails to start and says so', async () => {
    const { replies, receive } = host(fakeSession(['webgpu']));
    await receive({ type: 'set-backend', runId: 1, choice: 'auto' });
    expect(replies[0]).toMatchObject({ type: 'backend-set', backend: { active: 'wasm' } });
    const notes = (replies[0] as Extract<EngineReply, { type: 'backend-set' }>).backend.notes;
    expect(notes.join(' ')).toMatch(/WebGL skipped: .*software renderer/);
    expect(notes.join(' ')).toMatch(/WebGPU failed to start \(webgpu will not start\)/);
  });

  it('run falls back to the next backend when the active one fails mid-run, with a note in the result', async () => {
    const session = fakeSession([], ['webgpu']);
    const { replies, receive } = host(session);
    await receive({ type: 'set-backend', runId: 1, choice: 'webgpu' });
    await receive({ type: 'run', runId: 2, input, plan: 'tome', timing: false });
    const result = replies.find((r) => r.type === 'result') as Extract<EngineReply, { type: 'result' }>;
    expect(result.result.backend).toBe('wasm');
    expect(result.result.backendReport.active).toBe('wasm');
    expect(result.result.backendReport.notes.join(' ')).toMatch(/WebGPU failed while running the model \(shader compilation failed\); switched/);
  });

  it('run reports a plan error without changing backend', async () => {
    const { replies, receive } = host(fakeSession());
    await receive({ type: 'set-backend', runId: 1, choice: 'wasm' });
    await receive({ type: 'run', runId: 2, input, plan: 'bad', timing: false });
    expect(replies[1]).toEqual({ type: 'error', runId: 2, request: 'run', code: 'plan-invalid', message: 'bad plan' });
  });

  it('a run superseded before its turn is skipped without a reply', async () => {
    const session = fakeSession();
    const { replies, receive } = host(session);
    const first = receive({ type: 'set-backend', runId: 1, choice: 'wasm' });
    void receive({ type: 'run', runId: 2, input, plan: 'old', timing: false });
    const last = receive({ type: 'run', runId: 3, input, plan: 'new', timing: false });
    await first;
    await last;
    expect(session.ran).toEqual(['new@wasm']);
    expect(replies.filter((r) => r.type === 'result').map((r) => r.runId)).toEqual([3]);
  });
});
