/** Runners that feed each method's conformance cases to our implementation, keyed by case folder. */
import type { CaseRunner } from './case';
import { runTomeCase } from './tome';
import { runTomeParseRCase } from './tome-parse-r';
import { runPitomeCase } from './pitome';
import { runEvitCase } from './evit';
import { runAtsCase } from './ats';
import { runMctfCase } from './mctf';
import { runAtcCase } from './atc';
import { runPptCase } from './ppt';
import { runGtpCase } from './gtp';
import { runDiffrateCase, runDiffrateScheduleCase } from './diffrate';

export const caseRunners: Record<string, CaseRunner> = {
  tome: runTomeCase,
  tome_parse_r: runTomeParseRCase,
  pitome: runPitomeCase,
  evit: runEvitCase,
  ats: runAtsCase,
  mctf: runMctfCase,
  diffrate: runDiffrateCase,
  diffrate_schedule: runDiffrateScheduleCase,
  atc: runAtcCase,
  ppt: runPptCase,
  gtp: runGtpCase,
};
