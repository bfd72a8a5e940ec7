import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { atsMaskedSoftmax } from '../../src/reduce/ats';
import { floatTensor, type Nested } from '../../src/reduce/conformance/case';
import { runAtsCase } from '../../src/reduce/conformance/ats';
import { expectCaseToConform, loadCases } from '../helpers/conformance';
import { expectNoLeak, useWasmBackend } from '../helpers/tf';

useWasmBackend();

const cases = loadCases('ats');

describe('ats conformance (official adaptivetokensampling/ATS outputs)', () => {
  for (const c of cases) {
    it(`${c.case}: ${c.title}`, async () => {
      const outputs = await expectNoLeak(() => runAtsCase(c));
      expectCaseToConform(c, outputs);
    });
  }

  it('atsMaskedSoftmax reproduces the attention of case08 from its logits and padded policy', () => {
    const c = cases.find((k) => k.case === 'case08');
    expect(c?.inputs.attn_logits).toBeTruthy();
    const worst = tf.tidy(() => {
      const logits = floatTensor(c!.inputs.attn_logits as Nested) as tf.Tensor4D;
      const policy = floatTensor(c!.inputs.policy_in as Nested) as tf.Tensor3D;
      const attn = floatTensor(c!.inputs.attn as Nested);
      return tf.max(tf.abs(tf.sub(atsMaskedSoftmax(logits, policy), attn))).dataSync()[0];
    });
    expect(worst).toBeLessThan(1e-6);
  });
});
