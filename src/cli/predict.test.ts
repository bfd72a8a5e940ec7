import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { encodeCheckpoint, hfConfigJson, randomTimmArrays, renameTo, smallVitConfig } from '../../tests/helpers/checkpoints';
import { referenceForward } from '../../tests/helpers/reference-vit';
import { useWasmBackend } from '../../tests/helpers/tf';
import { encodePng } from '../io/png';
import { main } from './main';
import { parseNpy, predictCommand, topK } from './predict';
import type { EvidenceRecord } from '../reduce/evidence';

useWasmBackend();

const root = mkdtempSync(join(tmpdir(), 'tokenscope-predict-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const id2label = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [String(i), `thing ${i}`]));
const config = smallVitConfig(id2label);
const timm = randomTimmArrays(config, 21);
const modelDir = join(root, 'vit');
const single = join(root, 'deit.safetensors');
{
  rmSync(modelDir, { recursive: true, force: true });
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'model.safetensors'), encodeCheckpoint(renameTo(timm, 'hf-vit'), 'F32'));
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify(hfConfigJson(config, 'hf-vit')));
  writeFileSync(
    join(modelDir, 'preprocessor_config.json'),
    JSON.stringify({ do_resize: true, size: 8, resample: 2, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] }),
  );
  writeFileSync(single, encodeCheckpoint(timm, 'F16'));
}

/** An 8×8 RGB image with varied pixels. */
const rgb = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 97 + 13) % 256);
const pngPath = join(root, 'img.png');
writeFileSync(
  pngPath,
  encodePng(rgb, 8, 8, 3, (r) => deflateSync(r)),
);
/** The normalised input, worked out by hand: (v / 255 − 0.5) / 0.5. */
const expectedPixels = Array.from({ length: 8 }, (_, y) => Array.from({ length: 8 }, (_, x) => [0, 1, 2].map((c) => (rgb[(y * 8 + x) * 3 + c] / 255 - 0.5) / 0.5)));

function npy(values: number[], shape: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + 4 * values.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(10 + header.length + 4 * i, v, true));
  return out;
}

async function predictJson(args: string[]) {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  expect(await predictCommand.run([...args, '--json'])).toBe(0);
  return JSON.parse(lines.join('\n')) as {
    top5: { label: string; index: number; prob: number }[];
    logits: number[];
    preprocessing: string[];
    notes: string[];
    layout: string;
    tokens: number[];
  };
}

describe('tokenscope predict', () => {
  it('predict on a PNG at the input size only normalises it, and its logits match the float64 reference', async () => {
    const out = await predictJson(['--model', modelDir, '--image', pngPath]);
    const want = referenceForward(config, timm, expectedPixels);
    expect(Math.max(...out.logits.map((v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-3);
    expect(out.preprocessing).toEqual([
      'decode PNG 8×8, 3 channels',
      'already 8×8: used as is (no resize or crop)',
      'scale pixels to [0, 1] (divide by 255)',
      'normalise each channel: (x − mean) / std with mean [0.5, 0.5, 0.5] and std [0.5, 0.5, 0.5]',
    ]);
    expect(out.top5).toHaveLength(5);
    expect(out.top5).toEqual(topK(out.logits, id2label, 5));
    expect(out.top5[0].label).toBe(`thing ${out.top5[0].index}`);
    expect(out.layout).toBe('hf-vit');
  });

  it('predict reads normalised .npy and .bin input as is, with the same logits as the PNG', async () => {
    const flat = expectedPixels.flat(2);
    const npyPath = join(root, 'x.npy');
    const binPath = join(root, 'x.bin');
    writeFileSync(npyPath, npy(flat, [1, 8, 8, 3]));
    writeFileSync(binPath, new Uint8Array(Float32Array.from(flat).buffer));
    const fromPng = await predictJson(['--model', modelDir, '--image', pngPath]);
    vi.restoreAllMocks();
    const fromNpy = await predictJson(['--model', modelDir, '--image', npyPath]);
    vi.restoreAllMocks();
    const fromBin = await predictJson(['--model', modelDir, '--image', binPath]);
    expect(fromNpy.logits).toEqual(fromPng.logits);
    expect(fromBin.logits).toEqual(fromPng.logits);
    expect(fromNpy.preprocessing[0]).toMatch(/used as is/);
  });

  it('predict loads a lone .safetensors file by inferring its architecture, and runs a plan', async () => {
    const out = await predictJson(['--model', single, '--image', pngPath, '--plan', 'topk:keep=0.5,layers=1']);
    expect(out.layout).toBe('timm');
    expect(out.notes.some((n) => n.startsWith('No config.json'))).toBe(true);
    // 4 patches + CLS enter both blocks; top-k at block 1 keeps 0.5 × 4 = 2 patches and the CLS token.
    expect(out.tokens).toEqual([5, 5, 3]);
    expect(out.logits).toHaveLength(7);
  });

  it("predict --evidence adds each reducing block's evidence per input token; without it there is none", async () => {
    const plain = (await predictJson(['--model', modelDir, '--image', pngPath, '--plan', 'tome:r=2'])) as unknown as Record<string, unknown>;
    expect(plain.evidence).toBeUndefined();
    const out = (await predictJson(['--model', modelDir, '--image', pngPath, '--plan', 'tome:r=2', '--evidence'])) as unknown as { evidence: EvidenceRecord[] };
    expect(out.evidence.map((e) => [e.layer, e.method, e.tokens.length])).toEqual([
      [0, 'tome', 5],
      [1, 'tome', 3],
    ]);
    const [first] = out.evidence;
    // A = rows 0, 2, 4 (CLS never a source), B = rows 1, 3 with no score of their own
    expect(first.tokens.map((t) => t.score === null)).toEqual([true, true, false, true, false]);
    expect(first.tokens.map((t) => t.row)).toEqual([0, 1, 2, 3, 4]);
    // r = 2 of the two scored A tokens: both merge into their partner, which they then share a row with
    for (const t of first.tokens.filter((t) => t.score !== null)) {
      expect(t.outcome).toBe('merged');
      expect(t.to).toBe(first.tokens[t.partner!].to);
    }
    expect(first.edges.filter((e) => e.chosen).length).toBe(2);
  });

  it('predict is registered in the CLI table and reports bad input with its error code', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((s: unknown) => void errors.push(String(s)));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await main(['predict', '--model', modelDir, '--image', join(root, 'missing.png')])).toBe(1);
    expect(errors.at(-1)).toMatch(/\[data-missing\].*missing\.png does not exist/);
    writeFileSync(join(root, 'a.jpg'), 'x');
    expect(await main(['predict', '--model', modelDir, '--image', join(root, 'a.jpg')])).toBe(1);
    expect(errors.at(-1)).toMatch(/\[image-unreadable\].*a\.jpg: not a JPEG, PNG, WebP/);
    writeFileSync(join(root, 'a.tiff'), 'x');
    expect(await main(['predict', '--model', modelDir, '--image', join(root, 'a.tiff')])).toBe(1);
    expect(errors.at(-1)).toMatch(/\[image-unreadable\].*convert \.tiff to PNG/);
    writeFileSync(join(root, 'short.bin'), new Uint8Array(8));
    expect(await main(['predict', '--model', modelDir, '--image', join(root, 'short.bin')])).toBe(1);
    expect(errors.at(-1)).toMatch(/\[shape-mismatch\].*8×8×3 = 192/);
    writeFileSync(join(root, 'model.pth'), 'pickle');
    expect(await main(['predict', '--model', join(root, 'model.pth'), '--image', pngPath])).toBe(1);
    expect(errors.at(-1)).toMatch(/\[data-malformed\].*not read, for safety/);
  });

  it('parseNpy reads float32 and float64 arrays and rejects other dtypes', () => {
    expect(parseNpy(npy([1.5, -2], [2]), 'a.npy')).toEqual({ shape: [2], data: Float32Array.from([1.5, -2]) });
    const bad = npy([1], [1]);
    bad.set(new TextEncoder().encode('<i4'), bad.indexOf(0x3c)); // '<f4' -> '<i4'
    expect(() => parseNpy(bad, 'b.npy')).toThrowError(expect.objectContaining({ code: 'image-unreadable', message: expect.stringContaining('<i4') }));
  });
});
