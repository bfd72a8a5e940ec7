/**
 * The per-image results file (`--out FILE.jsonl`): one header line, then one ImageRecord per line,
 * and the summary every command prints from it. Pure (text in, values out): the CLI does the file
 * handling.
 *
 *   header   {"tokenscope": "per-image results", "version": 1, "model": {sha256, source},
 *             "data": {root, listing_sha256, files, labels}, "plans": [...], "batch", "limit",
 *             "shard": {k, n, files}}
 *   record   {"file", "label", "plans": {<plan>: {top5, prob5, tokens, gflops, kl}}} or
 *            {"file", "label", "error"}
 *
 * Images are batched in fixed groups of `batch` along the sorted list, and a shard is a fixed run
 * of those groups, so an image always meets the same neighbours: its numbers are the same whether
 * it ran in one process, in a worker or in a shard. The summary sums records in file order, so a
 * merge of shards and a single run print identical numbers.
 */
import { TokenScopeError } from '../errors';
import type { ImageRecord } from './image-records';

export const RESULTS_KIND = 'per-image results';
export const RESULTS_VERSION = 1;

export interface ResultsHeader {
  tokenscope: typeof RESULTS_KIND;
  version: number;
  model: { sha256: string; source: string };
  data: { root: string; listing_sha256: string; files: number; labels: string };
  plans: string[];
  batch: number;
  limit: number | null;
  shard: { k: number; n: number; files: number };
}

export interface Shard {
  k: number;
  n: number;
}

/** Parses `k/n` (0 ≤ k < n). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k < n)) {
    throw new TokenScopeError('param-out-of-range', `--shard ${text}: give k/n with 0 ≤ k < n, e.g. 0/4 … 3/4 for four shards`);
  }
  return { k, n };
}

/** The groups of images shard k of n runs: [first, end) group indices of `groups`. */
export function shardGroups(groups: number, { k, n }: Shard): [number, number] {
  return [Math.floor((k * groups) / n), Math.floor(((k + 1) * groups) / n)];
}

export const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface ParsedResults {
  header: ResultsHeader;
  records: ImageRecord[];
  /** Length in bytes of the well-formed part (header and whole records); a torn tail follows it. */
  goodBytes: number;
  /** A torn last line was found (and left out). */
  torn: boolean;
}

function isHeader(v: unknown): v is ResultsHeader {
  const h = v as ResultsHeader;
  return typeof h === 'object' && h !== null && h.tokenscope === RESULTS_KIND && Array.isArray(h.plans) && typeof h.model?.sha256 === 'string';
}

/**
 * Parses a results file given as its lines: every complete line (ended by '\n') and then the
 * rest after the last '\n' ('' when the file ends cleanly). A rest that is not empty, or a last
 * complete line that does not parse, is torn: left out.
 */
export function parseResultLines(lines: Iterable<string>, source: string): ParsedResults {
  let header: ResultsHeader | undefined;
  let goodBytes = 0;
  let torn = false;
  let pending: string | undefined; // a line that failed to parse: torn if nothing follows it
  const records: ImageRecord[] = [];
  let previous: string | undefined;
  let line = 0;
  const take = (text: string) => {
    line++;
    if (pending !== undefined) {
      throw new TokenScopeError('data-malformed', `${source} line ${line - 1} is not a result record; the file is damaged`, { path: source, line: line - 1 });
    }
    if (!header) {
      let h: unknown;
      try {
        h = JSON.parse(text);
      } catch {
        h = undefined;
      }
      if (!isHeader(h))
        throw new TokenScopeError('data-malformed', `${source} does not start with a TokenScope results header; give another --out file`, { path: source });
      if (h.version !== RESULTS_VERSION)
        throw new TokenScopeError('data-malformed', `${source} is results format version ${h.version}; this TokenScope reads version ${RESULTS_VERSION}`, {
          path: source,
        });
      header = h;
      goodBytes += Buffer.byteLength(text) + 1;
      return;
    }
    let r: ImageRecord | undefined;
    try {
      r = JSON.parse(text) as ImageRecord;
    } catch {
      r = undefined;
    }
    if (!r || typeof r.file !== 'string') {
      pending = text;
      return;
    }
    records.push(r);
    goodBytes += Buffer.byteLength(text) + 1;
  };
  // Every piece but the last was ended by a newline.
  for (const piece of lines) {
    if (previous !== undefined) take(previous);
    previous = piece;
  }
  if (pending !== undefined) torn = true;
  if (previous !== undefined && previous !== '') torn = true;
  if (!header)
    throw new TokenScopeError('data-malformed', `${source} has no header line; it is not a TokenScope results file (delete it to start again)`, { path: source });
  return { header, records, goodBytes, torn };
}

/** parseResultLines over a whole file's text. */
export function parseResults(text: string, source: string): ParsedResults {
  return parseResultLines(text.split('\n'), source);
}

export const formatLine = (value: unknown) => `${JSON.stringify(value)}\n`;

/** Header fields two runs must share to be resumed or merged (everything but paths and the shard). */
function identity(h: ResultsHeader): Record<string, unknown> {
  return { model: h.model.sha256, listing: h.data.listing_sha256, files: h.data.files, labels: h.data.labels, plans: h.plans, batch: h.batch, limit: h.limit };
}

/** Differences between two headers in words ("model …", "plans …"), empty when they match. */
export function headerDifferences(a: ResultsHeader, b: ResultsHeader, { shard }: { shard: boolean }): string[] {
  const ia = identity(a);
  const ib = identity(b);
  const names: Record<string, string> = {
    model: 'model (content hash)',
    listing: 'data folder (file list and labels)',
    files: 'image count',
    labels: 'label rule',
    plans: 'plan list',
    batch: '--batch',
    limit: '--limit',
  };
  const diffs = Object.keys(ia)
    .filter((key) => JSON.stringify(ia[key]) !== JSON.stringify(ib[key]))
    .map((key) => `${names[key]}: ${JSON.stringify(ia[key])} vs ${JSON.stringify(ib[key])}`);
  if (shard && (a.shard.k !== b.shard.k || a.shard.n !== b.shard.n)) diffs.push(`shard: ${a.shard.k}/${a.shard.n} vs ${b.shard.k}/${b.shard.n}`);
  return diffs;
}

/** Checks shard files fit together (same run, every shard once, each complete) and returns all records. */
export function mergeShards(files: { source: string; results: ParsedResults }[]): { header: ResultsHeader; records: ImageRecord[] } {
  if (files.length === 0) throw new TokenScopeError('data-missing', 'merge needs at least one results file');
  const first = files[0];
  const problems: string[] = [];
  for (const f of files.slice(1)) {
    const diffs = headerDifferences(first.results.header, f.results.header, { shard: false });
    if (f.results.header.shard.n !== first.results.header.shard.n) diffs.push(`shard count: ${first.results.header.shard.n} vs ${f.results.header.shard.n}`);
    if (diffs.length) problems.push(`${f.source} is not from the same run as ${first.source} (${diffs.join('; ')})`);
  }
  if (problems.length) throw new TokenScopeError('data-malformed', problems.join('\n'), { problems });
  const n = first.results.header.shard.n;
  const byShard = new Map<number, string[]>();
  for (const f of files) byShard.set(f.results.header.shard.k, [...(byShard.get(f.results.header.shard.k) ?? []), f.source]);
  for (const [k, sources] of byShard) if (sources.length > 1) problems.push(`shard ${k}/${n} appears more than once: ${sources.join(', ')}`);
  const missing = Array.from({ length: n }, (_, k) => k).filter((k) => !byShard.has(k));
  if (missing.length) problems.push(`missing shard${missing.length === 1 ? '' : 's'} ${missing.map((k) => `${k}/${n}`).join(', ')}`);
  const seen = new Map<string, string>();
  for (const f of files) {
    const files = new Set(f.results.records.map((r) => r.file));
    if (files.size < f.results.header.shard.files) {
      problems.push(
        `${f.source} (shard ${f.results.header.shard.k}/${n}) is incomplete: ${files.size} of ${f.results.header.shard.files} images; run its command again to finish it`,
      );
    }
    for (const file of files) {
      const other = seen.get(file);
      if (other && other !== f.source) problems.push(`${file} is in both ${other} and ${f.source}`);
      seen.set(file, f.source);
    }
  }
  if (problems.length) throw new TokenScopeError('data-malformed', `cannot merge:\n  ${problems.slice(0, 20).join('\n  ')}`, { problems });
  return { header: first.results.header, records: files.flatMap((f) => f.results.records) };
}

// ---- the summary -------------------------------------------------------------------------------

export interface PlanSummary {
  plan: string;
  /** The plan's (first) method, or 'none'. */
  method: string;
  /** Images evaluated. */
  n: number;
  /** Top-1 and top-5 accuracy against the labels (null for an unlabelled set). */
  accuracy: number | null;
  top5_accuracy: number | null;
  /** Share of images whose top-1 class equals the unreduced model's. */
  agreement: number;
  /** Mean KL(unreduced ‖ plan), nats. */
  kl: number;
  /** Mean model GFLOPs per image (fvcore convention). */
  gflops: number;
  /** Mean tokens entering each block, then leaving the last. */
  tokens: number[];
}

export interface Summary {
  model: string;
  data: { listing_sha256: string; files: number; labels: string };
  /** Images evaluated. */
  n: number;
  /** Images that could not be read, with why: counted apart, never silently dropped. */
  failed: { file: string; error: string }[];
  plans: PlanSummary[];
  /** Plans no other plan beats on both accuracy (agreement when unlabelled) and GFLOPs, cheapest first. */
  pareto: string[];
  /** With a budget: per method, the plan with the most GFLOPs not above it. */
  budget?: { gflops: number; plans: string[] };
}

const methodOf = (plan: string) => (plan === 'none' ? 'none' : plan.split(/[:+]/)[0]);

/** A budget as GFLOPs or a percentage of `baseGflops` ("60%"). */
export function parseBudget(text: string, baseGflops: number): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw new TokenScopeError('param-out-of-range', `--budget ${text}: give GFLOPs (e.g. 2.7) or a percentage of the unreduced model (e.g. 60%)`);
  return m[2] ? (Number(m[1]) / 100) * baseGflops : Number(m[1]);
}

/** The summary of `records` (any order; summed in file order) for the run `header` describes. */
export function summarise(header: ResultsHeader, records: ImageRecord[], { budget }: { budget?: string } = {}): Summary {
  const sorted = [...records].sort((a, b) => byCodePoint(a.file, b.file));
  const ok = sorted.filter((r) => r.plans);
  const failed = sorted.filter((r) => !r.plans).map((r) => ({ file: r.file, error: r.error ?? 'no result' }));
  const labelled = ok.length > 0 && ok.every((r) => r.label !== null);
  const plans = header.plans.map((plan): PlanSummary => {
    let correct = 0;
    let correct5 = 0;
    let agree = 0;
    let kl = 0;
    let gflops = 0;
    let tokens: number[] = [];
    for (const r of ok) {
      const p = r.plans![plan];
      if (!p) throw new TokenScopeError('data-malformed', `the record of ${r.file} has no result for plan ${plan}`, { file: r.file });
      const base = r.plans!.none;
      if (p.top5[0] === r.label) correct++;
      if (r.label !== null && p.top5.includes(r.label)) correct5++;
      if (p.top5[0] === base.top5[0]) agree++;
      kl += p.kl;
      gflops += p.gflops;
      if (tokens.length === 0) tokens = p.tokens.map(() => 0);
      p.tokens.forEach((t, l) => (tokens[l] += t));
    }
    const n = ok.length;
    return {
      plan,
      method: methodOf(plan),
      n,
      accuracy: labelled ? correct / n : null,
      top5_accuracy: labelled ? correct5 / n : null,
      agreement: agree / n,
      kl: kl / n,
      gflops: gflops / n,
      tokens: tokens.map((t) => t / n),
    };
  });
  const score = (p: PlanSummary) => p.accuracy ?? p.agreement;
  const pareto = plans
    .filter((p) => !plans.some((q) => q !== p && q.gflops <= p.gflops && score(q) >= score(p) && (q.gflops < p.gflops || score(q) > score(p))))
    .sort((a, b) => a.gflops - b.gflops)
    .map((p) => p.plan);
  const summary: Summary = {
    model: header.model.sha256,
    data: { listing_sha256: header.data.listing_sha256, files: header.data.files, labels: header.data.labels },
    n: ok.length,
    failed,
    plans,
    pareto,
  };
  if (budget !== undefined) {
    const target = parseBudget(budget, plans[0].gflops);
    const best = new Map<string, PlanSummary>();
    for (const p of plans) {
      if (p.method === 'none' || p.gflops > target + 1e-12) continue;
      const b = best.get(p.method);
      if (!b || p.gflops > b.gflops) best.set(p.method, p);
    }
    summary.budget = { gflops: target, plans: [...best.values()].map((p) => p.plan) };
  }
  return summary;
}
