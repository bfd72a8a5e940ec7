import { describe, expect, it } from 'vitest';
import { countFlops, type FlopDims } from '../../measure/flops';
import type { Trace } from '../../model/run';
import { gridGeometry, layerViews } from '../fates';
import type { ModelInput } from '../image/preprocess';
import type { RunResult } from '../worker/protocol';
import { csvCell, fateRecord, tokensFlopsCsv } from './formats';

const trace: Trace = {
  tokens: 5,
  layers: [
    { layer: 0, method: 'tome', nIn: 5, nOut: 4, target: [0, 1, 1, 2, 3], coeff: [1, 1, 1, 1, 1] },
    { layer: 1, method: 'topk', nIn: 4, nOut: 3, target: [0, 1, -1, 2], coeff: [1, 1, 0, 1] },
  ],
};
const dims: FlopDims = { hidden: 4, mlp: 8, patches: 4, patchInput: 4, labels: 2, heads: 1, distilled: false };
const flops = countFlops(dims, [
  { nIn: 5, nOut: 4, slot: 'afterAttention', overhead: 7 },
  { nIn: 4, nOut: 3, slot: 'afterAttention', overhead: 0 },
]);
const baseline = countFlops(dims, [
  { nIn: 5, nOut: 5, slot: null },
  { nIn: 5, nOut: 5, slot: null },
]);

describe('csvCell', () => {
  it('csvCell quotes commas, quotes and line breaks only', () => {
    expect(csvCell('tome')).toBe('tome');
    expect(csvCell(12)).toBe('12');
    expect(csvCell(null)).toBe('');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"\n')).toBe('"say ""hi""\n"');
  });
});

describe('tokensFlopsCsv', () => {
  it('tokensFlopsCsv writes embed, one row per block, head and total, with overhead apart', () => {
    const lines = tokensFlopsCsv(trace, flops, [5, 5, 5], baseline).trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'part,method,tokens_in,tokens_out,unreduced_tokens_in,flops_qkv,flops_attn_scores,flops_attn_values,flops_proj,flops_mlp,flops_layernorm,flops_model,flops_overhead,flops_unreduced',
    );
    expect(lines.map((l) => l.split(',')[0])).toEqual(['part', 'embed', '0', '1', 'head', 'total']);
    const block0 = lines[2].split(',');
    expect(block0.slice(1, 5)).toEqual(['tome', '5', '4', '5']);
    // qkv 3·N·D² = 3·5·16, MLP at M = 2·4·4·8
    expect(Number(block0[5])).toBe(240);
    expect(Number(block0[9])).toBe(256);
    expect(Number(block0[12])).toBe(7);
    expect(lines[5].split(',').slice(11)).toEqual([String(flops.model), '7', String(baseline.model)]);
  });
});

describe('fateRecord', () => {
  it('fateRecord holds the input pixels and, per block, every original token’s fate and row', () => {
    const input: ModelInput = {
      size: 2,
      channels: 1,
      u8: Uint8Array.from([0, 64, 128, 255]),
      pixels: new Float32Array(4),
      steps: [
        { op: 'resize', ran: true, detail: 'resized' },
        { op: 'invert', ran: false, detail: 'not inverted' },
      ],
    };
    const result = { plan: 'tome+topk', modelName: 'm', backend: 'wasm', trace, logits: [0.5, -1] } as unknown as RunResult;
    const geo = gridGeometry(trace, 2);
    const record = fateRecord(result, layerViews(trace, geo), geo, input, 'x.png');
    expect(record).toMatchObject({ format: 'tokenscope-fates', version: 1, plan: 'tome+topk', grid: 2, firstPatch: 1, tokens: 5 });
    expect(record.image).toEqual({ name: 'x.png', preprocessing: ['resized'] });
    expect(record.input.u8).toEqual([0, 64, 128, 255]);
    expect(record.logits).toEqual([0.5, -1]);
    expect(record.layers[1]).toEqual({
      block: 1,
      method: 'topk',
      tokensIn: 4,
      tokensOut: 3,
      fate: ['kept', 'merged', 'merged', 'dropped', 'kept'],
      row: [0, 1, 1, -1, 2],
    });
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });
});

describe('fateRecord evidence', () => {
  it('fateRecord carries each block’s evidence per token when the trace recorded it, and none otherwise', () => {
    // top-k at block 1 over 3 scored tokens with CLS attention 0.5, 0.1, 0.4: keeps rows 1 and 3
    const withEvidence: Trace = {
      ...trace,
      layers: [
        trace.layers[0],
        {
          ...trace.layers[1],
          evidence: { method: 'topk', constants: { protectedCount: 1, left: 2, fuse: false }, fields: { clsAttnMean: [0.5, 0.1, 0.4], keptIdx: [0, 2] } },
        },
      ],
    };
    const input: ModelInput = { size: 2, channels: 1, u8: new Uint8Array(4), pixels: new Float32Array(4), steps: [] };
    const geo = gridGeometry(withEvidence, 2);
    const record = fateRecord(
      { plan: 'p', modelName: 'm', backend: 'wasm', trace: withEvidence, logits: [] } as unknown as RunResult,
      layerViews(withEvidence, geo),
      geo,
      input,
      'x.png',
    );
    expect(record.evidence).toHaveLength(1);
    const [topk] = record.evidence!;
    expect(topk).toMatchObject({ layer: 1, method: 'topk', cutoff: 0.4 });
    expect(topk.tokens.map((t) => [t.row, t.score, t.rank, t.outcome])).toEqual([
      [0, null, null, 'kept'],
      [1, 0.5, 1, 'kept'],
      [2, 0.1, 3, 'dropped'],
      [3, 0.4, 2, 'kept'],
    ]);
    const plain = fateRecord({ plan: 'p', modelName: 'm', backend: 'wasm', trace, logits: [] } as unknown as RunResult, layerViews(trace, geo), geo, input, 'x.png');
    expect(plain.evidence).toBeUndefined();
  });
});
