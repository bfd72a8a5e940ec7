import { describe, expect, it } from 'vitest';
import { runAtcCase } from '../../src/reduce/conformance/atc';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

describe('atc conformance (official JoakimHaurum/ATC (scikit-learn 1.2.1 clustering) outputs)', () => {
  for (const c of loadCases('atc')) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runAtcCase(c));
      const cmp = expectCaseToConform(c, outputs);
      // every optional intermediate is produced, so nothing is skipped
      expect(cmp.skipped).toBe(0);
    });
  }
});
