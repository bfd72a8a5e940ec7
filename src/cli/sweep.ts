/** `tokenscope sweep`: accuracy against GFLOPs for every method's main parameter, and equal budgets. */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import { evaluatePlans, type PlanScore } from '../measure/evaluate';
import { atsCandidates, solveBudget, sweepPlans, type SweepPoint } from '../measure/sweep';
import { scheduledFlops } from '../measure/plan-flops';
import { parseBudget } from '../measure/results';
import { compilePlan } from '../reduce/compile';
import { useBackend } from '../model/backend';
import { loadModelDir } from '../model/load-node';
import { type Model, warmUp } from '../model/run';
import { listWeights } from '../model/weights';
import { formatPlan, METHOD_IDS, planFromText } from '../reduce/plan';
import type { MethodId } from '../reduce/types';
import { DATA_HELP, DATA_OPTIONS, labelledData, type LabelledData } from './eval-data';
import { FOLDER_HELP, FOLDER_OPTIONS, runFolderCommand } from './folder-options';
import { isImageFolder } from './folder-run';
import type { Command } from './main';
import { resolveModel } from './model-source';
import { readLocalCheckpoint } from './predict';
import { loadCheckpoint, disposeCheckpoint } from '../io/checkpoint';
import { ProgressBar } from './progress';

const HELP = `usage: tokenscope sweep [--model DIR] [--methods ${METHOD_IDS.join(',')}] [--budget G|P%] [--limit N] [--json]

Sweeps each method's main parameter (ToMe/MCTF r, PiToMe ratio, EViT/top-k keep rate, ATS's cap
on sampled tokens; 0 = the official adaptive count) and evaluates every point against the
unreduced model over a labelled set, in one pass (wasm backend): top-1 accuracy, top-1 agreement,
mean KL divergence, and GFLOPs per image from the token counts each forward produced (ATS: the
mean over the set). The same code (src/measure/evaluate.ts) runs in the browser's compare view.

  --methods LIST    comma-separated methods (default: all)
  --budget G|P%     instead of a sweep: per method, the setting with the most GFLOPs not above
                    G GFLOPs (or P% of the unreduced model); ATS is chosen by its mean over the set
${DATA_HELP}
  --json            print one JSON array: {"method", "plan", "gflops", "accuracy", "agreement",
                    "kl", "param", "value"} per point, the unreduced model first (method "none")

${FOLDER_HELP}
  --json            print the summary, as \`tokenscope eval\` does (with "budget" under --budget:
                    per method, the plan with the most measured GFLOPs not above it)
`;

/** The plans a folder sweep evaluates: each method's sweep, or its budget candidates. */
async function folderPlans(values: { model?: string; config?: string; budget?: string }, methods: MethodId[]): Promise<string[]> {
  await useBackend('wasm');
  const model = await resolveModel(values.model!);
  const loaded = loadCheckpoint(readLocalCheckpoint(model.path, values.config));
  disposeCheckpoint(loaded);
  const { config } = loaded;
  if (!values.budget) return sweepPlans(methods, config).map((p) => p.plan);
  // Every method's budget choice is made on the measured GFLOPs, from candidates around it.
  const base = scheduledFlops(config, compilePlan(planFromText('none', config.num_hidden_layers), config))!.report.model / 1e9;
  const target = parseBudget(values.budget, base);
  return methods.flatMap((method) => {
    if (method === 'ats') return atsCandidates(config).map((p) => p.plan);
    const choice = solveBudget(method, config, target);
    return choice ? [choice.plan] : [];
  });
}

function parseMethods(text: string): MethodId[] {
  const methods = text
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const unknown = methods.filter((m) => !METHOD_IDS.includes(m as MethodId));
  if (unknown.length) throw new TokenScopeError('plan-invalid', `unknown method(s) ${unknown.join(', ')}; methods: ${METHOD_IDS.join(', ')}`);
  return methods as MethodId[];
}

interface Row {
  method: string;
  plan: string;
  gflops: number;
  accuracy: number;
  agreement: number;
  kl: number;
  param: string | null;
  value: number | null;
}

function rows(points: (SweepPoint | null)[], scores: PlanScore[]): Row[] {
  // scores[0] is the unreduced model; scores[i + 1] belongs to points[i] (canonical plan text)
  const byPlan = new Map(scores.map((s) => [s.plan, s]));
  const row = (method: string, s: PlanScore, p: SweepPoint | null): Row => ({
    method,
    plan: s.plan,
    gflops: s.gflops,
    accuracy: s.accuracy,
    agreement: s.agreement,
    kl: s.kl,
    param: p?.param ?? null,
    value: p?.value ?? null,
  });
  return [row('none', scores[0], null), ...points.filter((p): p is SweepPoint => p !== null).map((p) => row(p.method, byPlan.get(p.plan)!, p))];
}

async function evaluate(model: Model, data: LabelledData, plans: string[], label: string): Promise<PlanScore[]> {
  const bar = new ProgressBar({ label, total: data.n, logEvery: Math.max(100, Math.ceil(data.n / 10)) });
  const scores = await evaluatePlans(model, plans, data.batches(), { total: data.n, onProgress: ({ done }) => bar.update(done) });
  bar.done();
  return scores;
}

function canonical(model: Model, p: SweepPoint): SweepPoint {
  return { ...p, plan: formatPlan(planFromText(p.plan, model.config.num_hidden_layers)) };
}

async function budgetPoints(model: Model, data: LabelledData, methods: MethodId[], budget: string, baseGflops: number): Promise<SweepPoint[]> {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(budget.trim());
  if (!m) throw new TokenScopeError('param-out-of-range', `--budget ${budget}: give GFLOPs (e.g. 0.01) or a percentage of the unreduced model (e.g. 60%)`);
  const target = m[2] ? (Number(m[1]) / 100) * baseGflops : Number(m[1]);
  const points: SweepPoint[] = [];
  for (const method of methods) {
    if (method === 'ats') {
      // ATS costs depend on the images: measure the caps on the set, keep the costliest within budget.
      const caps = atsCandidates(model.config).map((p) => canonical(model, p));
      const scores = await evaluate(
        model,
        data,
        caps.map((p) => p.plan),
        'ats caps',
      );
      const within = caps.map((p, i) => ({ p, g: scores[i + 1]?.gflops ?? scores[0].gflops })).filter((c) => c.g <= target);
      if (within.length) points.push(within.reduce((a, b) => (b.g > a.g ? b : a)).p);
      continue;
    }
    const choice = solveBudget(method, model.config, target);
    if (choice) points.push(canonical(model, { method, param: choice.param, value: choice.value, plan: choice.plan }));
  }
  return points;
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...DATA_OPTIONS, ...FOLDER_OPTIONS, methods: { type: 'string', default: METHOD_IDS.join(',') }, budget: { type: 'string' } },
  });
  const methods = parseMethods(values.methods!);
  if (values.data && isImageFolder(values.data)) return runFolderCommand('sweep', values, () => folderPlans(values, methods), values.budget);
  await useBackend('wasm');
  const model = loadModelDir(values.model!);
  try {
    await warmUp(model, []); // per-head attention layout for the wasm backend
    const data = labelledData(model, values);
    let points: SweepPoint[];
    if (values.budget) {
      const [base] = await evaluate(model, data, [], 'unreduced');
      points = await budgetPoints(model, data, methods, values.budget, base.gflops);
    } else {
      points = sweepPlans(methods, model.config).map((p) => canonical(model, p));
    }
    const scores = await evaluate(
      model,
      data,
      points.map((p) => p.plan),
      'sweep',
    );
    const table = rows(points, scores);
    if (values.json) {
      console.log(JSON.stringify(table));
      return 0;
    }
    console.log(`${values.model} on ${data.name} (${data.n} images)${values.budget ? `, budget ${values.budget}` : ''}`);
    console.log('method  plan                          GFLOPs    % base   top-1    agree    KL');
    for (const r of table) {
      console.log(
        `${r.method.padEnd(7)} ${r.plan.padEnd(29)} ${r.gflops.toFixed(5).padStart(8)} ${((100 * r.gflops) / table[0].gflops).toFixed(1).padStart(7)}%` +
          ` ${(100 * r.accuracy).toFixed(2).padStart(6)}% ${(100 * r.agreement).toFixed(1).padStart(6)}%  ${r.kl.toExponential(2)}`,
      );
    }
    return 0;
  } finally {
    tf.dispose(listWeights(model.weights));
  }
}

export const sweepCommand: Command = {
  summary: 'accuracy against GFLOPs for every method, or at an equal budget',
  help: HELP,
  run,
};
