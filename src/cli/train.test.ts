import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { useWasmBackend } from '../../tests/helpers/tf';
import { readState } from '../train/checkpoint';
import { evalCommand } from './eval';
import { flopsCommand } from './flops';
import { trainCommand } from './train';

useWasmBackend();

const root = mkdtempSync(join(tmpdir(), 'tokenscope-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const out = join(root, 'run');
const exported = join(root, 'model');
const tiny = ['--hidden', '16', '--depth', '1', '--heads', '1', '--mlp', '32', '--batch', '16', '--limit', '64', '--epochs', '1', '--out', out];

describe('tokenscope train and eval', () => {
  it('train stops cleanly on SIGINT, saving a state that --resume completes and exports', async () => {
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      const text = String(chunk);
      stderr.push(text);
      // Ctrl-C as soon as training starts: the loop must save at epoch 1, batch 0 and stop.
      if (text.startsWith('training into')) process.emit('SIGINT');
      return true;
    });
    expect(await trainCommand.run([...tiny, '--export', exported])).toBe(130);
    expect(stderr.join('')).toMatch(/stopped at epoch 1, batch 0.*\n.*npx tokenscope train --resume --out/);
    expect(readState(out)).toMatchObject({ epoch: 0, batch: 0, step: 0 });
    expect(existsSync(join(exported, 'model.safetensors'))).toBe(false);

    expect(await trainCommand.run(['--resume', '--out', out, '--limit', '64', '--export', exported])).toBe(0);
    expect(readState(out)).toMatchObject({ epoch: 1, batch: 0, step: 4 });
    expect(process.listenerCount('SIGINT')).toBe(0);
    for (const f of ['config.json', 'preprocessor_config.json', 'model.safetensors']) expect(existsSync(join(exported, f)), f).toBe(true);
  });

  it('eval --json prints accuracy, n, gflops and agreement for the exported model', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await evalCommand.run(['--model', exported, '--eval-set', 'public/data/fmnist-test-1000.bin', '--limit', '30', '--batch', '8', '--json'])).toBe(0);
    const result = JSON.parse(lines[0]);
    expect(result).toMatchObject({ n: 30, agreement: 1, kl: 0, plan: 'none' });
    expect(result.accuracy * 30).toBeCloseTo(Math.round(result.accuracy * 30), 9);
    // 1 block of width 16 over 50 tokens: embed 16·16·16·... computed by the same fvcore rules as 'flops'
    expect(result.gflops).toBeGreaterThan(0);
    expect(result.gflops).toBe(result.base_gflops);
  });

  it('eval --plan reports the plan against the unreduced model, with the GFLOPs its schedule fixes', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const args = ['--model', exported, '--eval-set', 'public/data/fmnist-test-1000.bin', '--limit', '20', '--batch', '7', '--json'];
    expect(await evalCommand.run([...args, '--plan', 'tome:r=20'])).toBe(0);
    expect(await flopsCommand.run(['--arch', join(exported, 'config.json'), '--plan', 'tome:r=20', '--json'])).toBe(0);
    const [scored, flops] = lines.map((l) => JSON.parse(l));
    expect(scored.plan).toBe('tome:r=20');
    expect(scored.n).toBe(20);
    expect(scored.gflops).toBeCloseTo(flops.gflops, 6);
    expect(scored.gflops).toBeLessThan(scored.base_gflops);
    expect(scored.tokens).toEqual([50, 30]);
    expect(scored.agreement).toBeGreaterThanOrEqual(0);
    expect(scored.agreement).toBeLessThanOrEqual(1);
    expect(scored.kl).toBeGreaterThanOrEqual(0);
  });

  it('eval rejects a bad plan naming the bad part', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(evalCommand.run(['--model', exported, '--eval-set', 'public/data/fmnist-test-1000.bin', '--plan', 'tome:r=-2'])).rejects.toThrowError(
      expect.objectContaining({ code: 'param-out-of-range', message: expect.stringContaining("'r=-2'") }),
    );
  });

  it('train --stop-after ends at an epoch boundary, and --resume --epochs lengthens the run with a continuous rate', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const dir = join(root, 'longer');
    const args = ['--hidden', '16', '--depth', '1', '--heads', '1', '--mlp', '32', '--batch', '16', '--limit', '32', '--out', dir];
    expect(await trainCommand.run([...args, '--epochs', '2', '--stop-after', '1', '--no-eval'])).toBe(130);
    expect(readState(dir)).toMatchObject({ epoch: 1, batch: 0, step: 2 });
    expect(await trainCommand.run(['--resume', '--out', dir, '--limit', '32', '--epochs', '3', '--no-eval'])).toBe(0);
    const state = readState<{ lr: number; warmupEpochs: number }>(dir);
    expect(state).toMatchObject({ epoch: 3, step: 6, options: { epochs: 3 } });
    // 2 steps per epoch, warm-up round(0.5 · 2) = 1 step, old total 4: the old rate at step 2 is
    // floor + (peak − floor)/2 · (1 + cos(π · 1/3)).
    const { lr, minLr } = { lr: 1e-3, minLr: 1e-5 };
    expect(state.changes).toHaveLength(1);
    expect(state.changes![0].step).toBe(2);
    expect(state.changes![0].lr).toBeCloseTo(minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI / 3)), 12);
  });

  it('train --resume --epochs --restart-lr starts the new cosine from the given rate', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const dir = join(root, 'warm');
    const args = ['--hidden', '16', '--depth', '1', '--heads', '1', '--mlp', '32', '--batch', '16', '--limit', '32', '--out', dir, '--no-eval'];
    expect(await trainCommand.run([...args, '--epochs', '1'])).toBe(0);
    expect(await trainCommand.run(['--resume', '--out', dir, '--limit', '32', '--epochs', '2', '--restart-lr', '2e-4', '--no-eval'])).toBe(0);
    expect(readState(dir).changes).toEqual([{ step: 2, lr: 2e-4, epochs: { from: 1, to: 2 } }]);
    await expect(trainCommand.run([...args, '--restart-lr', '1e-4'])).rejects.toThrowError(expect.objectContaining({ code: 'param-out-of-range' }));
  });

  it('train --stop-at-step stops mid-epoch right after that update', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const dir = join(root, 'at-step');
    const args = ['--hidden', '16', '--depth', '1', '--heads', '1', '--mlp', '32', '--batch', '16', '--limit', '64', '--out', dir, '--no-eval'];
    expect(await trainCommand.run([...args, '--epochs', '2', '--stop-at-step', '3'])).toBe(130);
    expect(readState(dir)).toMatchObject({ epoch: 0, batch: 3, step: 3 });
  });

  it('train --resume refuses a different training set', async () => {
    await expect(trainCommand.run(['--resume', '--out', out, '--limit', '32'])).rejects.toThrowError(
      expect.objectContaining({ code: 'param-out-of-range', message: expect.stringContaining('trains on 64 images, but 32 were given') }),
    );
  });

  it('train without the dataset fails with data-missing and names the apt package', async () => {
    await expect(trainCommand.run([...tiny, '--data', join(root, 'no-such-dir')])).rejects.toThrowError(
      expect.objectContaining({ code: 'data-missing', message: expect.stringContaining('apt-get install dataset-fashion-mnist') }),
    );
  });

  it('train rejects an unknown option and names the help', async () => {
    await expect(trainCommand.run(['--epoch', '3'])).rejects.toThrowError(
      expect.objectContaining({ code: 'param-out-of-range', message: expect.stringContaining("unknown option '--epoch'") }),
    );
  });
});
