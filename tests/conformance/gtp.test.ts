import { describe, expect, it } from 'vitest';
import { runGtpCase } from '../../src/reduce/conformance/gtp';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

describe('gtp conformance (official Ackesnal/GTP-ViT outputs)', () => {
  for (const c of loadCases('gtp')) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runGtpCase(c));
      const cmp = expectCaseToConform(c, outputs);
      // every field the cases hold is produced, so nothing is skipped
      expect(cmp.skipped).toBe(0);
    });
  }
});
