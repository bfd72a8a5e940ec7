/** `tokenscope merge`: the shards' per-image results files → the summary an unsharded run prints. */
import { parseArgs } from 'node:util';
import { TokenScopeError } from '../errors';
import { mergeShards, summarise } from '../measure/results';
import { printSummary, reportFailed } from './folder-options';
import { usageError } from './folder-run';
import type { Command } from './main';
import { readResultsFile } from './results-file';

const HELP = `usage: tokenscope merge FILE.jsonl… [--budget G|P%] [--json]

Reads the --out files of a sharded eval or sweep (--shard 0/n … n-1/n) and prints exactly the
summary one unsharded run prints: per plan, top-1 and top-5 accuracy, top-1 agreement and mean KL
divergence to the unreduced model, mean GFLOPs per image, tokens per block, and the Pareto front.
Refuses files from different runs (model, data, plans, --batch, --limit), a shard given twice or
missing, an image in two shards, and an unfinished shard, naming them.

  --budget G|P%     per method, the plan with the most measured GFLOPs not above G GFLOPs (or P%
                    of the unreduced model), as sweep --budget
  --json            print the summary as JSON (the shape of eval --json on a folder)
`;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { budget: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  try {
    if (positionals.length === 0) throw new TokenScopeError('param-out-of-range', 'merge needs the results files of every shard: tokenscope merge results/*.jsonl');
    const files = positionals.map((source) => ({ source, results: readResultsFile(source) }));
    const { header, records } = mergeShards(files);
    const summary = summarise(header, records, { budget: values.budget });
    reportFailed(summary);
    if (values.json) console.log(JSON.stringify(summary));
    else printSummary(summary, `${header.model.source} on ${header.data.root}, ${files.length} shard${files.length === 1 ? '' : 's'}`);
    return 0;
  } catch (e) {
    if (!usageError(e)) throw e;
    console.error(`tokenscope merge: ${(e as Error).message}`);
    return 2;
  }
}

export const mergeCommand: Command = {
  summary: 'combine the per-image results of a sharded eval or sweep into one summary',
  help: HELP,
  run,
};
