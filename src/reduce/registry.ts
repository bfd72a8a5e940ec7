/** Every method, keyed by its id. A new method is one module and one line here. */
import { atc } from './atc';
import { ats } from './ats';
import { diffrate } from './diffrate';
import { evit, topk } from './evit';
import { gtp } from './gtp';
import { mctf } from './mctf';
import { ppt } from './ppt';
import { pitome } from './pitome';
import { tome } from './tome';
import type { MethodId, Reducer } from './types';

export const REDUCERS = {
  tome,
  pitome,
  evit,
  topk,
  ats,
  mctf,
  diffrate,
  atc,
  ppt,
  gtp,
} satisfies Record<MethodId, Reducer<never>>;
