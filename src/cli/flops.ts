import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ARCHS, archConfig, numTokens, parseConfig, type VitConfig } from '../model/config';
import { compilePlan } from '../reduce/compile';
import { planFromText, planHelp } from '../reduce/plan';
import { countFlops, flopDims, type FlopReport } from '../measure/flops';
import { scheduledFlops } from '../measure/plan-flops';
import type { Command } from './main';

const help = `tokenscope flops --arch deit-t|deit-s|deit-b|vit-b|<config.json> [--plan "<plan>"] [--json]

FLOPs of a plan in the fvcore convention the papers use (one multiply-add = 1 FLOP, LayerNorm
5 per element, softmax and GELU not counted), from the token counts the plan's schedule fixes.
"gflops" is the model; the methods' own work (ToMe's similarity matmul, ...) is "overhead_gflops",
and "total_gflops" adds both (MCTF's README figures include it, ToMe's and PiToMe's do not).
ATS keeps a different number of tokens on every image: its count cannot come from a schedule, so
this prints the bound where every ATS layer keeps as many tokens as it can: N - 1 at batch 1,
or its cap K;
"tokenscope eval --plan ats" measures the mean over a dataset.

Options:
  --arch NAME|FILE   a reference architecture (224 px, 1000 classes) or a Hugging Face config.json
  --plan TEXT        token-reduction plan (default: none)
  --json             print JSON: {"gflops", "tokens", "overhead_gflops", "total_gflops", "per_layer"}

${planHelp()}`;

function loadConfig(arch: string): VitConfig {
  if (ARCHS[arch]) return archConfig(arch);
  return parseConfig(JSON.parse(readFileSync(arch, 'utf8')));
}

export const flopsCommand: Command = {
  summary: 'FLOPs of a plan on an architecture',
  help,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { arch: { type: 'string', default: 'deit-s' }, plan: { type: 'string', default: 'none' }, json: { type: 'boolean', default: false } },
    });
    const config = loadConfig(values.arch!);
    const plan = planFromText(values.plan!, config.num_hidden_layers);
    const compiled = compilePlan(plan, config);
    const scheduled = scheduledFlops(config, compiled);
    let counts: number[];
    let report: FlopReport;
    let note: string | undefined;
    if (scheduled) {
      ({ counts, report } = scheduled);
    } else {
      // ATS: the bound where every adaptive layer keeps N - 1 tokens.
      counts = [numTokens(config)];
      for (const layer of compiled.layers) {
        const n = counts[counts.length - 1];
        counts.push(layer ? layer.maxOutputTokens(n) : n);
      }
      const layers = compiled.layers.map((layer, l) => ({
        nIn: counts[l],
        nOut: counts[l + 1],
        slot: layer?.slot ?? null,
        overhead: layer ? layer.overheadFlops(counts[l]) : 0,
      }));
      report = countFlops(flopDims(config), layers);
      note =
        'ATS keeps an image-dependent number of tokens; these are upper bounds at batch 1 (each ATS layer keeps at most N - 1, or its cap K). Measure the mean over a set with: tokenscope eval --plan ...';
    }
    const g = (v: number) => Number((v / 1e9).toFixed(6));
    const out = {
      arch: values.arch,
      plan: values.plan,
      gflops: g(report.model),
      tokens: counts.slice(0, -1),
      final_tokens: counts[counts.length - 1],
      overhead_gflops: g(report.overhead),
      total_gflops: g(report.total),
      exact: scheduled !== null,
      ...(note ? { note } : {}),
      per_layer: report.blocks.map((b, l) => ({ layer: l, tokens_in: counts[l], tokens_out: counts[l + 1], gflops: g(b.model), overhead_gflops: g(b.overhead) })),
    };
    if (values.json) {
      console.log(JSON.stringify(out));
      return 0;
    }
    console.log(`${values.arch}  plan: ${values.plan}`);
    console.log(
      `GFLOPs (model): ${out.gflops.toFixed(3)}${scheduled ? '' : ' (upper bound)'}   method overhead: ${out.overhead_gflops.toFixed(4)}   total: ${out.total_gflops.toFixed(3)}`,
    );
    console.log('layer  tokens in -> out   GFLOPs');
    for (const l of out.per_layer)
      console.log(`${String(l.layer).padStart(5)}  ${String(l.tokens_in).padStart(9)} -> ${String(l.tokens_out).padEnd(5)} ${l.gflops.toFixed(4)}`);
    if (note) console.log(note);
    return 0;
  },
};
