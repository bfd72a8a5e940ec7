import { describe, expect, it } from 'vitest';
import { runPptCase } from '../../src/reduce/conformance/ppt';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

describe('ppt conformance (official xjwu1024/PPT outputs)', () => {
  for (const c of loadCases('ppt')) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runPptCase(c));
      const cmp = expectCaseToConform(c, outputs);
      // every optional intermediate is produced, so nothing is skipped
      expect(cmp.skipped).toBe(0);
    });
  }
});
