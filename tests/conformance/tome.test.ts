import { describe, expect, it } from 'vitest';
import { runTomeCase } from '../../src/reduce/conformance/tome';
import { runTomeParseRCase } from '../../src/reduce/conformance/tome-parse-r';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

describe('tome conformance (official facebookresearch/ToMe outputs)', () => {
  for (const c of loadCases('tome')) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runTomeCase(c));
      const cmp = expectCaseToConform(c, outputs);
      // every optional intermediate is produced, so nothing is skipped
      expect(cmp.skipped).toBe(0);
    });
  }
});

describe('tome_parse_r conformance (official tome/utils.py parse_r)', () => {
  for (const c of loadCases('tome_parse_r')) {
    it(`${c.case}: ${c.title}`, () => {
      expectCaseToConform(c, runTomeParseRCase(c));
    });
  }
});
