/**
 * The plan: one compact text that says which method runs at which layers with which parameters.
 * The same grammar serves the CLI (--plan), the URL (?plan=) and the tests.
 *
 *   plan     := 'none' | segment ('+' segment)*
 *   segment  := method [':' param (',' param)*]
 *   param    := name '=' value          value: number, or 0/1 for switches
 *   layers   := item ('/' item)*        item: L or A-B (0-based, inclusive)
 *
 *   tome:r=13     tome:r=16,inflect=-1     evit:keep=0.7,layers=3/6/9,fuse=0
 *   topk:keep=0.7 ats:layers=3-11          pitome:ratio=0.9     mctf:r=16
 *   evit:keep=0.7,layers=3+tome:r=8,layers=4-11      (methods on disjoint layers)
 *   diffrate:target_flops=2.9                        (DiffRate's published DeiT-S schedule)
 *   atc:keep=0.7,linkage=1                           (ATC, average linkage, layers 3/6/9)
 *   gtp:p=8,graph=mixed,alpha=0.1                    (GTP-ViT, every layer; runs alone in a plan)
 *
 * Defaults follow the papers for a 12-block DeiT and scale with depth: ToMe/PiToMe every layer,
 * MCTF layers 1..L-1, EViT/top-k at ⌊L/4⌋, ⌊L/2⌋, ⌊3L/4⌋ (3/6/9), ATS from ⌊L/4⌋ on (3-11).
 * Parsing yields canonical data; nothing downstream parses text again.
 */
import { TokenScopeError, type Parsed } from '../errors';
import { DIFFRATE_TARGETS } from './diffrate-schedules';
import { GTP_GRAPHS } from './gtp';
import type { MethodId } from './types';

export type ParamValue = number | boolean;

interface NumberParam {
  kind: 'int' | 'float';
  name: string;
  doc: string;
  default: number;
  min: number;
  max: number;
  /** Exclusive lower bound. */
  minOpen?: boolean;
  /** An int that picks one of these choices: the name is also accepted, and the canonical text writes it. */
  names?: readonly string[];
}

interface SwitchParam {
  kind: 'bool';
  name: string;
  doc: string;
  default: boolean;
}

export type ParamSpec = NumberParam | SwitchParam;

export interface MethodSpec {
  id: MethodId;
  label: string;
  params: ParamSpec[];
  defaultLayers(depth: number): number[];
  /** One line for help texts. */
  summary: string;
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const everyLayer = (depth: number) => range(0, depth - 1);
const quarterLayers = (depth: number) => [...new Set([1, 2, 3].map((k) => Math.floor((depth * k) / 4)))].filter((l) => l < depth);

export const METHOD_SPECS: Record<MethodId, MethodSpec> = {
  tome: {
    id: 'tome',
    label: 'ToMe',
    summary: 'bipartite soft matching merges r tokens per layer (Bolya et al. 2023)',
    params: [
      { kind: 'int', name: 'r', doc: 'tokens merged per layer (clamped to half the tokens)', default: 8, min: 0, max: 4096 },
      { kind: 'float', name: 'inflect', doc: 'schedule slope: 0 constant, -1 decreasing, 1 increasing', default: 0, min: -1, max: 1 },
      { kind: 'bool', name: 'prop', doc: 'proportional attention (log size added per key)', default: true },
    ],
    defaultLayers: everyLayer,
  },
  pitome: {
    id: 'pitome',
    label: 'PiToMe',
    summary: 'energy-protected merging keeping a ratio of tokens per layer (Tran et al. 2024)',
    params: [
      { kind: 'float', name: 'ratio', doc: 'fraction of patch tokens kept per layer', default: 0.9, min: 0.5, max: 1 },
      { kind: 'float', name: 'alpha', doc: 'ELU alpha of the energy score', default: 1, min: 0, max: 10, minOpen: true },
    ],
    defaultLayers: everyLayer,
  },
  evit: {
    id: 'evit',
    label: 'EViT',
    summary: 'keeps the tokens the class token attends to most, fuses the rest (Liang et al. 2022)',
    params: [
      { kind: 'float', name: 'keep', doc: 'fraction of non-class tokens kept at each chosen layer', default: 0.7, min: 0, max: 1, minOpen: true },
      { kind: 'bool', name: 'fuse', doc: 'fuse the dropped tokens into one token', default: true },
    ],
    defaultLayers: quarterLayers,
  },
  topk: {
    id: 'topk',
    label: 'Top-K',
    summary: 'keeps the tokens the class token attends to most, drops the rest (EViT without fusion)',
    params: [{ kind: 'float', name: 'keep', doc: 'fraction of non-class tokens kept at each chosen layer', default: 0.7, min: 0, max: 1, minOpen: true }],
    defaultLayers: quarterLayers,
  },
  ats: {
    id: 'ats',
    label: 'ATS',
    summary: 'samples tokens by significance, a count that varies per image (Fayyaz et al. 2022)',
    params: [
      {
        kind: 'float',
        name: 'k',
        doc: 'cap on tokens sampled per layer: 0 = none (official, K = N), <= 1 a fraction of N, else a count (>= 8)',
        default: 0,
        min: 0,
        max: 4096,
      },
    ],
    defaultLayers: (depth) => range(Math.floor(depth / 4), depth - 1),
  },
  mctf: {
    id: 'mctf',
    label: 'MCTF',
    summary: 'multi-criteria bidirectional token fusion with one-step-ahead attention (Lee et al. 2024)',
    params: [
      { kind: 'float', name: 'r', doc: 'tokens fused per layer (< 1: a fraction of the tokens)', default: 16, min: 0, max: 4096 },
      { kind: 'float', name: 'tau_sim', doc: 'temperature of the similarity criterion', default: 1, min: 0, max: 1000, minOpen: true },
      { kind: 'float', name: 'tau_info', doc: 'temperature of the informativeness criterion (0 = off)', default: 20, min: 0, max: 1000 },
      { kind: 'float', name: 'tau_size', doc: 'temperature of the size criterion (0 = off)', default: 40, min: 0, max: 1000 },
      { kind: 'bool', name: 'bidir', doc: 'bidirectional matching (A→B then B→A)', default: true },
      { kind: 'int', name: 'pool', doc: 'fusion: 0 size-weighted, 1 attention×size (official), 2 max, 3 mean', default: 1, min: 0, max: 3 },
      { kind: 'bool', name: 'prop', doc: 'proportional attention (log size added per key)', default: true },
    ],
    defaultLayers: (depth) => range(1, depth - 1),
  },
  diffrate: {
    id: 'diffrate',
    label: 'DiffRate',
    summary: 'per-block prune and merge counts searched once and published per model (Chen et al. 2023)',
    params: [
      {
        kind: 'float',
        name: 'target_flops',
        doc: `published schedule by its target GFLOPs (DeiT-T ${DIFFRATE_TARGETS.filter((t) => t < 2).join('/')}, DeiT-S ${DIFFRATE_TARGETS.filter((t) => t >= 2).join('/')}); 0 = derived from DeiT-S 2.9 for any model`,
        default: 0,
        min: 0,
        max: Math.max(...DIFFRATE_TARGETS),
      },
    ],
    defaultLayers: everyLayer,
  },
  atc: {
    id: 'atc',
    label: 'ATC',
    summary: 'agglomerative clustering of the patch tokens into k clusters at a few layers (Haurum et al. 2024)',
    params: [
      {
        kind: 'float',
        name: 'keep',
        doc: 'keep rate κ: the i-th clustering layer keeps int(patches·κ^(i+1)) clusters',
        default: 0.7,
        min: 0,
        max: 1,
        minOpen: true,
      },
      { kind: 'int', name: 'linkage', doc: 'cluster distance: 0 single (nearest), 1 average, 2 complete (farthest)', default: 1, min: 0, max: 2 },
      { kind: 'bool', name: 'prop', doc: 'proportional attention: sizes weight the merges and the attention (off: plain means)', default: true },
    ],
    defaultLayers: quarterLayers,
  },
  ppt: {
    id: 'ppt',
    label: 'PPT',
    summary: 'per image, prunes or pools (ToMe merging) r tokens by the spread of its significance scores (Wu et al. 2023)',
    params: [
      { kind: 'int', name: 'r', doc: 'tokens removed per chosen layer (r_tokens; clamped to half the tokens)', default: 50, min: 0, max: 4096 },
      { kind: 'float', name: 'threshold', doc: 'τ: a score variance below it pools, at or above it prunes', default: 7e-5, min: 0, max: 1 },
      { kind: 'bool', name: 'prop', doc: 'proportional attention (log size added per key); off: each chosen layer starts from size 1', default: true },
    ],
    defaultLayers: quarterLayers,
  },
  gtp: {
    id: 'gtp',
    label: 'GTP',
    summary: 'propagates the p least attended patch tokens into their graph neighbours at every block (Xu et al. 2024)',
    params: [
      {
        kind: 'int',
        name: 'p',
        doc: 'patch tokens propagated (removed) per block, num_prop; at least 1 (the official code removes every patch at 0)',
        default: 8,
        min: 1,
        max: 4096,
      },
      {
        kind: 'int',
        name: 'graph',
        doc: 'graph over the patches, built once per image: spatial (8 grid neighbours), semantic (cosine k-NN) or mixed (either)',
        default: 2,
        min: 0,
        max: 2,
        names: GTP_GRAPHS,
      },
      { kind: 'float', name: 'alpha', doc: 'weight of the propagated tokens added to their kept neighbours', default: 0.1, min: 0, max: 10 },
      { kind: 'int', name: 'neighbours', doc: 'num_neighbours of the semantic k-NN graph (not used by spatial)', default: 8, min: 0, max: 4096 },
      {
        kind: 'float',
        name: 'sparsity',
        doc: 'attention sparsity: below 1, probabilities under the ⌊N²(1 − sparsity)⌋-th smallest of each head become 0 (1 = off)',
        default: 1,
        min: 0,
        max: 1,
        minOpen: true,
      },
      { kind: 'bool', name: 'scale', doc: 'token scales: propagated like the features, log scale added to the attention per key', default: false },
    ],
    defaultLayers: everyLayer,
  },
};

/** Methods that carry state through the whole forward (GTP's graph over the patches) and so run alone in a plan. */
export const SOLE_METHODS: MethodId[] = ['gtp'];

export const METHOD_IDS = Object.keys(METHOD_SPECS) as MethodId[];

export interface Segment {
  method: MethodId;
  /** Every parameter of the method, defaults filled in. */
  params: Record<string, ParamValue>;
  /** Ascending, 0-based. */
  layers: number[];
}

export interface Plan {
  segments: Segment[];
  depth: number;
}

const planError = (message: string) => ({ ok: false as const, error: new TokenScopeError('plan-invalid', message) });

function describeRange(p: NumberParam): string {
  if (p.names) return p.names.map((n, i) => `${n} (${i})`).join(', ');
  return `${p.minOpen ? '(' : '['}${p.min}, ${p.max}]`;
}

/** A parameter's value as plan text: the choice's name where it has names. */
export function formatParamValue(spec: ParamSpec, value: ParamValue): string {
  if (spec.kind === 'bool') return value ? '1' : '0';
  return spec.names?.[value as number] ?? String(value);
}

function parseValue(spec: ParamSpec, raw: string, where: string): ParamValue | TokenScopeError {
  if (spec.kind === 'bool') {
    if (raw === '1' || raw === 'true' || raw === 'on') return true;
    if (raw === '0' || raw === 'false' || raw === 'off') return false;
    return new TokenScopeError('plan-invalid', `'${spec.name}=${raw}' in '${where}': ${spec.name} is a switch, use 0 or 1 (${spec.doc})`);
  }
  const named = spec.names?.indexOf(raw.trim().toLowerCase()) ?? -1;
  const v = named >= 0 ? named : raw.trim() === '' ? NaN : Number(raw);
  const inRange = Number.isFinite(v) && (spec.minOpen ? v > spec.min : v >= spec.min) && v <= spec.max;
  if (!inRange || (spec.kind === 'int' && !Number.isInteger(v))) {
    const kind = spec.names ? 'one of' : spec.kind === 'int' ? 'an integer in' : 'a number in';
    return new TokenScopeError(
      'param-out-of-range',
      `'${spec.name}=${raw}' in '${where}': ${spec.name} must be ${kind} ${describeRange(spec)} (${spec.doc}); default ${formatParamValue(spec, spec.default)}`,
    );
  }
  return v;
}

function parseLayers(raw: string, depth: number, where: string): number[] | TokenScopeError {
  const layers = new Set<number>();
  const bad = (why: string) =>
    new TokenScopeError('plan-invalid', `'layers=${raw}' in '${where}': ${why}; write layers as L, A-B or a '/'-separated list of them, 0..${depth - 1}`);
  for (const item of raw.split('/')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item.trim());
    if (!m) return bad(`'${item}' is not a layer or a range`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return bad(`range '${item}' runs backwards`);
    if (to >= depth) return bad(`layer ${to} does not exist in a ${depth}-block model`);
    range(from, to).forEach((l) => layers.add(l));
  }
  return [...layers].sort((a, b) => a - b);
}

function parseSegment(text: string, depth: number): Parsed<Segment> {
  const [name, rest] = text.includes(':') ? [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)] : [text, ''];
  const method = name.trim().toLowerCase() as MethodId;
  const spec = METHOD_SPECS[method];
  if (!spec) return planError(`unknown method '${name}' in '${text}'; methods: ${METHOD_IDS.join(', ')} (or 'none')`);
  const params: Record<string, ParamValue> = Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
  let layers = spec.defaultLayers(depth);
  const seen = new Set<string>();
  for (const part of rest === '' ? [] : rest.split(',')) {
    if (part.trim() === '') return planError(`empty parameter in '${text}': write NAME=VALUE pairs separated by single commas`);
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const names = [...spec.params.map((p) => p.name), 'layers'];
    if (!names.includes(key)) return planError(`unknown parameter '${key}' for ${method} in '${text}'; parameters: ${names.join(', ')}`);
    if (eq < 0)
      return planError(`'${key}' in '${text}' needs a value, e.g. ${key}=${key === 'layers' ? '3/6/9' : String(spec.params.find((p) => p.name === key)?.default)}`);
    if (seen.has(key)) return planError(`'${key}' is given twice in '${text}'`);
    seen.add(key);
    if (key === 'layers') {
      const parsed = parseLayers(value, depth, text);
      if (parsed instanceof TokenScopeError) return { ok: false, error: parsed };
      layers = parsed;
      continue;
    }
    const parsed = parseValue(
      spec.params.find((p) => p.name === key)!,
      value,
      text,
    );
    if (parsed instanceof TokenScopeError) return { ok: false, error: parsed };
    params[key] = parsed;
  }
  if (method === 'ats' && typeof params.k === 'number' && params.k > 1 && params.k < 8) {
    return planError(`'k=${params.k}' in '${text}': an ATS cap must be 0 (none), a fraction <= 1, or a count >= 8`);
  }
  if (method === 'diffrate' && params.target_flops !== 0 && !DIFFRATE_TARGETS.includes(params.target_flops as number)) {
    return planError(
      `'target_flops=${params.target_flops}' in '${text}': DiffRate publishes schedules for DeiT-T (${DIFFRATE_TARGETS.filter((t) => t < 2).join(', ')}) and DeiT-S (${DIFFRATE_TARGETS.filter((t) => t >= 2).join(', ')}); 0 derives one for any model`,
    );
  }
  return { ok: true, value: { method, params, layers } };
}

/** Parses plan text for a model of `depth` blocks. */
export function parsePlan(text: string, depth: number): Parsed<Plan> {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'none') return { ok: true, value: { segments: [], depth } };
  if (trimmed.length > 2000) return planError(`plan text is ${trimmed.length} characters long; plans are short (at most 2000)`);
  const segments: Segment[] = [];
  const owner = new Map<number, string>();
  for (const part of trimmed.split('+')) {
    if (part.trim() === '') return planError(`empty segment in '${trimmed}': segments are joined by single '+'`);
    const parsed = parseSegment(part.trim(), depth);
    if (!parsed.ok) return parsed;
    for (const l of parsed.value.layers) {
      const other = owner.get(l);
      if (other) return planError(`layer ${l} is claimed by both '${other}' and '${part.trim()}'; segments must use disjoint layers`);
      owner.set(l, part.trim());
    }
    segments.push(parsed.value);
  }
  const sole = segments.find((s) => SOLE_METHODS.includes(s.method));
  const other = segments.find((s) => s.method !== sole?.method);
  if (sole && other) {
    return planError(
      `'${METHOD_SPECS[sole.method].label}' runs alone: it builds a graph over the patch tokens before block 0 and carries it through every block, which another method's reduction ('${other.method}') would break; plan ${sole.method} on its own`,
    );
  }
  if (sole) {
    const first = segments.find((s) => s.method === sole.method)!;
    const differs = segments.find((s) => s.params.graph !== first.params.graph || s.params.neighbours !== first.params.neighbours);
    if (differs) return planError(`every ${sole.method} segment must use the same graph and neighbours: the graph is built once, before block 0`);
  }
  return { ok: true, value: { segments, depth } };
}

/** Like parsePlan, but throws the error. */
export function planFromText(text: string, depth: number): Plan {
  const parsed = parsePlan(text, depth);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

function formatLayers(layers: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < layers.length;) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j] + 1) j++;
    parts.push(j - i >= 2 ? `${layers[i]}-${layers[j]}` : layers.slice(i, j + 1).join('/'));
    i = j + 1;
  }
  return parts.join('/');
}

/** Canonical text: defaults omitted, layers written only when not the method's default. */
export function formatPlan(plan: Plan): string {
  if (plan.segments.length === 0) return 'none';
  return plan.segments
    .map((s) => {
      const spec = METHOD_SPECS[s.method];
      const parts = spec.params.filter((p) => s.params[p.name] !== p.default).map((p) => `${p.name}=${formatParamValue(p, s.params[p.name])}`);
      if (formatLayers(s.layers) !== formatLayers(spec.defaultLayers(plan.depth))) parts.push(`layers=${formatLayers(s.layers)}`);
      return parts.length ? `${s.method}:${parts.join(',')}` : s.method;
    })
    .join('+');
}

/** The plan grammar and every method's parameters, for --help texts. */
export function planHelp(): string {
  const lines = [
    'Plan syntax: none | METHOD[:NAME=VALUE,...][+METHOD...]   (layers 0-based: layers=3/6/9 or layers=3-11)',
    'Examples: tome:r=13  tome:r=16,inflect=-1  evit:keep=0.7,layers=3/6/9,fuse=0  topk:keep=0.7',
    '          ats:layers=3-11  pitome:ratio=0.9  mctf:r=16  evit:keep=0.7,layers=3+tome:r=8,layers=4-11',
    '          diffrate:target_flops=2.9 (published DeiT-S schedule)  diffrate (derived for any model)  atc:keep=0.7,linkage=2',
    '          gtp:p=8,graph=mixed,alpha=0.1 (runs alone: its graph spans every block)',
    '',
  ];
  for (const spec of Object.values(METHOD_SPECS)) {
    lines.push(`  ${spec.id.padEnd(7)} ${spec.summary}; default layers for 12 blocks: ${formatLayers(spec.defaultLayers(12))}`);
    for (const p of spec.params) {
      const range = p.kind === 'bool' ? '0|1' : describeRange(p);
      lines.push(`            ${p.name}=${range}  default ${formatParamValue(p, p.default)}: ${p.doc}`);
    }
  }
  return lines.join('\n');
}
