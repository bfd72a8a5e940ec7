/**
 * What `eval` and `sweep` share when --data is an ImageFolder: the extra flags, the run, and the
 * summary table (also printed by `merge`).
 */
import { TokenScopeError } from '../errors';
import type { LabelRule } from '../io/image-folder';
import { parseShard, type Summary, summarise } from '../measure/results';
import { positiveInt } from './eval-data';
import { defaultWorkers, runFolder, usageError } from './folder-run';
import { resolveModel } from './model-source';

export const FOLDER_OPTIONS = {
  config: { type: 'string' },
  labels: { type: 'string', default: 'names' },
  out: { type: 'string' },
  workers: { type: 'string' },
  shard: { type: 'string', default: '0/1' },
} as const;

export const FOLDER_HELP = `ImageFolder data (--data DIR with one sub-folder of JPEG/PNG/WebP images per class):
  --model M         a model directory, a .safetensors file, or a Hugging Face hub id owner/name[@revision]
                    (downloaded into the Hugging Face cache, $HF_HOME or ~/.cache/huggingface/hub;
                    HF_HUB_OFFLINE=1 reads the cache only)
  --config FILE     config.json for a .safetensors file given alone
  --labels RULE     names: class folders named after the model's id2label labels (default);
                    sorted: folders sorted by name get 0, 1, 2, … (torchvision's ImageFolder rule,
                    which gives ImageNet's WNID folders the standard indices)
  --out FILE.jsonl  per-image results (a header line, then one JSON object per image); running the
                    same command again resumes: images already in the file are skipped
  --workers N       worker threads, each with its own wasm backend (default: the number of cores)
  --shard k/n       only the k-th of n fixed shares of the sorted file list (0 ≤ k < n); combine
                    the shards' --out files with \`tokenscope merge\`
  --limit N, --batch B  as above, on the sorted file list; --batch defaults to 16 here and is part
                    of the run's identity: the same --batch gives bit-identical numbers on any
                    number of workers and shards`;

export interface FolderValues {
  model?: string;
  config?: string;
  data?: string;
  labels?: string;
  out?: string;
  workers?: string;
  shard?: string;
  limit?: string;
  batch?: string;
}

function labelRule(text: string | undefined): LabelRule {
  if (text === 'names' || text === 'sorted' || text === undefined) return text ?? 'names';
  throw new TokenScopeError('param-out-of-range', `--labels ${text}: give names (match folders to the model's labels) or sorted (torchvision's ImageFolder order)`);
}

/** Runs the folder evaluation for `plans` and returns its summary. */
export async function evaluateFolder(values: FolderValues, plans: string[], budget?: string): Promise<Summary> {
  const limit = positiveInt('--limit', values.limit, undefined);
  const batch = positiveInt('--batch', values.batch, 16)!;
  const workers = positiveInt('--workers', values.workers, defaultWorkers())!;
  const shard = parseShard(values.shard ?? '0/1');
  const labels = labelRule(values.labels);
  const model = await resolveModel(values.model!);
  const run = await runFolder({
    modelPath: model.path,
    modelName: values.model!,
    configPath: values.config,
    data: values.data!,
    labels,
    plans,
    batch,
    limit,
    shard,
    out: values.out,
    workers,
  });
  if (run.skipped.length)
    process.stderr.write(
      `${run.skipped.length} file(s) left out of the listing: ${run.skipped
        .slice(0, 5)
        .map((s) => `${s.path} (${s.reason})`)
        .join(', ')}${run.skipped.length > 5 ? ', …' : ''}\n`,
    );
  const summary = summarise(run.header, run.records, { budget });
  reportFailed(summary);
  if (shard.n > 1) process.stderr.write(`shard ${shard.k}/${shard.n}: ${run.records.length} images; combine every shard's --out file with tokenscope merge\n`);
  return summary;
}

/**
 * `tokenscope <command> --data FOLDER`: scores the plans on the image folder and prints the summary
 * (JSON with --json); 0, or 2 with the message on a usage error.
 */
export async function runFolderCommand(
  command: string,
  values: FolderValues & { json?: boolean },
  plans: () => Promise<string[]> | string[],
  budget?: string,
): Promise<number> {
  try {
    const summary = await evaluateFolder(values, await plans(), budget);
    if (values.json) console.log(JSON.stringify(summary));
    else printSummary(summary, `${values.model} on ${values.data}`);
    return 0;
  } catch (e) {
    if (!usageError(e)) throw e;
    console.error(`tokenscope ${command}: ${(e as Error).message}`);
    return 2;
  }
}

export function reportFailed(summary: Summary): void {
  if (!summary.failed.length) return;
  process.stderr.write(`${summary.failed.length} image(s) could not be read and are counted apart:\n`);
  for (const f of summary.failed) process.stderr.write(`  ${f.file}: ${f.error}\n`);
}

const pct = (v: number | null) => (v === null ? '    –  ' : `${(100 * v).toFixed(2).padStart(6)}%`);

/** The summary as a table. */
export function printSummary(summary: Summary, title: string): void {
  const base = summary.plans[0];
  console.log(`${title}: ${summary.n} images${summary.failed.length ? `, ${summary.failed.length} unreadable` : ''} (model sha256 ${summary.model.slice(0, 12)}…)`);
  console.log('plan                            GFLOPs   % base   top-1    top-5    agree    KL');
  for (const p of summary.plans) {
    const mark = summary.pareto.includes(p.plan) ? '*' : ' ';
    console.log(
      `${mark}${p.plan.padEnd(30)} ${p.gflops.toFixed(4).padStart(8)} ${((100 * p.gflops) / base.gflops).toFixed(1).padStart(7)}% ${pct(p.accuracy)} ${pct(p.top5_accuracy)} ${pct(p.agreement)}  ${p.kl.toExponential(2)}`,
    );
  }
  console.log('* on the Pareto front (no other plan is both cheaper and more accurate)');
  if (summary.budget) console.log(`budget ${summary.budget.gflops.toFixed(4)} GFLOPs: ${summary.budget.plans.join(', ') || 'no plan fits'}`);
}
