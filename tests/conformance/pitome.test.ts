import { describe, expect, it } from 'vitest';
import { runPitomeCase } from '../../src/reduce/conformance/pitome';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

describe('pitome conformance (official hchautran/PiToMe outputs)', () => {
  for (const c of loadCases('pitome')) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runPitomeCase(c));
      const cmp = expectCaseToConform(c, outputs);
      // every optional intermediate is produced, so nothing is skipped
      expect(cmp.skipped).toBe(0);
    });
  }
});
