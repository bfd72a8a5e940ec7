import { describe, it } from 'vitest';
import { runMctfCase } from '../../src/reduce/conformance/mctf';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

describe('mctf conformance (official mlvlab/MCTF outputs)', () => {
  for (const c of loadCases('mctf')) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runMctfCase(c));
      expectCaseToConform(c, outputs);
    });
  }
});
