import { describe, expect, it } from 'vitest';
import { encodeCheckpoint, randomTimmArrays, renameTo } from '../../tests/helpers/checkpoints';
import { useWasmBackend } from '../../tests/helpers/tf';
import { scheduledFlops } from '../measure/plan-flops';
import { ARCHS, archConfig, type VitConfig } from '../model/config';
import { compilePlan } from '../reduce/compile';
import { planFromText } from '../reduce/plan';
import { disposeCheckpoint, loadCheckpoint } from './checkpoint';
import { inferConfig } from './infer-config';

useWasmBackend();

/** The architecture numbers (everything but labels) of a config. */
const arch = ({ id2label: _labels, image_mean: _m, image_std: _s, distilled, ...rest }: VitConfig) => ({ ...rest, distilled: distilled === true });

describe('inferConfig', () => {
  it('inferConfig reads DeiT-Tiny from full-size tensors: the reference architecture, ImageNet names and 1.258 GFLOPs', () => {
    const deitT = { ...archConfig('deit-t'), distilled: false };
    // A DeiT-Tiny-shaped checkpoint (5.7 M random weights) as timm publishes it, stored as BF16.
    const bytes = encodeCheckpoint(randomTimmArrays(deitT, 1), 'BF16');
    const r = loadCheckpoint({ safetensors: bytes });
    try {
      const { labels: _n, ...want } = ARCHS['deit-t'];
      expect(arch(r.config)).toEqual({ ...want, distilled: false });
      expect(r.config.id2label[207]).toBe('golden retriever');
      const flops = scheduledFlops(r.config, compilePlan(planFromText('none', 12), r.config))!;
      expect((flops.report.model / 1e9).toFixed(3)).toBe('1.258'); // DeiT-T's total in docs/METHODS.md#flops
      expect(r.preprocess.source).toMatch(/timm's defaults/);
    } finally {
      disposeCheckpoint(r);
    }
  });

  it('inferConfig reads a distilled DeiT-Small-shaped layout from shapes alone (Hugging Face DeiT names)', () => {
    const deitS: VitConfig = { ...archConfig('deit-s'), num_hidden_layers: 2, image_size: 64, id2label: { 0: 'x', 1: 'y' }, distilled: true };
    const timm = randomTimmArrays(deitS, 2);
    // inferConfig works on timm names; check it via the loader, which renames the HF file first.
    const r = loadCheckpoint({ safetensors: encodeCheckpoint(renameTo(timm, 'hf-deit'), 'F16') });
    try {
      expect(arch(r.config)).toEqual(arch(deitS));
      expect(arch(inferConfig(timm).config)).toEqual(arch(deitS));
    } finally {
      disposeCheckpoint(r);
    }
  });

  it('inferConfig names the tensor it needs when one is missing or mis-shaped', () => {
    const timm = randomTimmArrays({ ...archConfig('deit-t'), num_hidden_layers: 1, image_size: 32, id2label: { 0: 'a' } }, 3);
    const without = (name: string) => new Map([...timm].filter(([n]) => n !== name));
    for (const name of ['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'blocks.0.mlp.fc1.weight', 'head.weight']) {
      expect(() => inferConfig(without(name)), name).toThrowError(
        expect.objectContaining({ code: 'shape-mismatch', message: expect.stringContaining(`'${name}'`) }),
      );
    }
    const odd = new Map(timm);
    odd.set('pos_embed', { shape: [1, 6, 192], data: new Float32Array(6 * 192) });
    expect(() => inferConfig(odd)).toThrowError(expect.objectContaining({ message: expect.stringContaining('square number of patches') }));
  });
});
