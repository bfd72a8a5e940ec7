/**
 * Edits to a parsed Plan made by the method panel and the layer timeline. Pure: each returns a new
 * Plan, and the caller writes it back as text with formatPlan (the plan text stays the one state).
 * Segments keep the grammar's rule: disjoint layers, at least one layer each.
 */
import { METHOD_SPECS, SOLE_METHODS, type ParamValue, type Plan, type Segment } from '../../reduce/plan';
import type { MethodId } from '../../reduce/types';

const defaults = (method: MethodId): Record<string, ParamValue> => Object.fromEntries(METHOD_SPECS[method].params.map((p) => [p.name, p.default]));

/** The method reducing each block, or null. */
export function layerOwners(plan: Plan): (MethodId | null)[] {
  const owners: (MethodId | null)[] = Array(plan.depth).fill(null);
  for (const s of plan.segments) for (const l of s.layers) owners[l] = s.method;
  return owners;
}

function withoutLayers(segments: Segment[], layers: number[]): Segment[] {
  const drop = new Set(layers);
  return segments.map((s) => ({ ...s, layers: s.layers.filter((l) => !drop.has(l)) })).filter((s) => s.layers.length > 0);
}

/**
 * Switches a method on (its default parameters, on its default layers that no other method holds;
 * if none are free, it takes its default layers from the others) or off (every segment of it).
 */
export function toggleMethod(plan: Plan, method: MethodId, on: boolean): Plan {
  if (!on) return { ...plan, segments: plan.segments.filter((s) => s.method !== method) };
  if (plan.segments.some((s) => s.method === method)) return plan;
  // a method that runs alone (GTP) replaces the others, and any other replaces it
  const exclusive = SOLE_METHODS.includes(method) ? [] : plan.segments.filter((s) => !SOLE_METHODS.includes(s.method));
  if (exclusive.length !== plan.segments.length) return toggleMethod({ ...plan, segments: exclusive }, method, true);
  const wanted = METHOD_SPECS[method].defaultLayers(plan.depth);
  const taken = new Set(plan.segments.flatMap((s) => s.layers));
  const free = wanted.filter((l) => !taken.has(l));
  const layers = free.length > 0 ? free : wanted;
  const others = free.length > 0 ? plan.segments : withoutLayers(plan.segments, wanted);
  return { ...plan, segments: [...others, { method, params: defaults(method), layers }] };
}

/** Sets one parameter of the method's first segment. */
export function setParam(plan: Plan, method: MethodId, name: string, value: ParamValue): Plan {
  const i = plan.segments.findIndex((s) => s.method === method);
  if (i < 0) return plan;
  const segments = plan.segments.map((s, j) => (j === i ? { ...s, params: { ...s.params, [name]: value } } : s));
  return { ...plan, segments };
}

/** Gives block `layer` to `method` (its first segment, or a new one with defaults), or to none. */
export function assignLayer(plan: Plan, layer: number, method: MethodId | null): Plan {
  let segments = withoutLayers(plan.segments, [layer]);
  if (method) {
    const i = segments.findIndex((s) => s.method === method);
    if (i >= 0) segments = segments.map((s, j) => (j === i ? { ...s, layers: [...s.layers, layer].sort((a, b) => a - b) } : s));
    else segments = [...segments, { method, params: defaults(method), layers: [layer] }];
  }
  return { ...plan, segments };
}
