/** Runs the cases/tome_parse_r case: `parseR` against tome/utils.py parse_r @ af95e4b. */
import { invariant } from '../../errors';
import { parseR, type TomeSchedule } from '../tome';
import type { SyncCaseRunner } from './case';

interface ParseRItem {
  num_layers: number;
  r: { kind: 'int' | 'tuple' | 'list'; value: number | number[] };
}

function schedule(item: ParseRItem): TomeSchedule {
  const { kind, value } = item.r;
  if (kind === 'int') return value as number;
  if (kind === 'list') return value as number[];
  invariant(Array.isArray(value) && value.length === 2, `tuple r must be [r, inflect], got ${JSON.stringify(value)}`);
  return { r: value[0], inflect: value[1] };
}

export const runTomeParseRCase: SyncCaseRunner = (c) => {
  const items = c.inputs.items as unknown as ParseRItem[];
  return { schedules: items.map((item) => parseR(item.num_layers, schedule(item))) };
};
