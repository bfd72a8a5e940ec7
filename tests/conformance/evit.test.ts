import { describe, expect, it } from 'vitest';
import { runEvitCase } from '../../src/reduce/conformance/evit';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

describe('evit conformance (official youweiliang/evit outputs)', () => {
  for (const c of loadCases('evit')) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runEvitCase(c));
      const cmp = expectCaseToConform(c, outputs);
      // every optional intermediate is produced, so nothing is skipped
      expect(cmp.skipped).toBe(0);
    });
  }
});
