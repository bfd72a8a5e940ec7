import { describe, expect, it } from 'vitest';
import { runDiffrateCase, runDiffrateScheduleCase } from '../../src/reduce/conformance/diffrate';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

describe('diffrate conformance (official OpenGVLab/DiffRate outputs)', () => {
  for (const c of loadCases('diffrate')) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runDiffrateCase(c));
      const cmp = expectCaseToConform(c, outputs);
      // every optional intermediate is produced, so nothing is skipped
      expect(cmp.skipped).toBe(0);
    });
  }
});

describe('diffrate_schedule conformance (compression_rate.json, token counts, official GFLOPs)', () => {
  for (const c of loadCases('diffrate_schedule')) {
    it(`${c.case}: ${c.title}`, () => {
      const cmp = expectCaseToConform(c, runDiffrateScheduleCase(c));
      expect(cmp.skipped).toBe(0);
    });
  }
});
