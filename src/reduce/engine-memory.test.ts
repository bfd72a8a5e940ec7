import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { compilePlan } from './compile';
import { planFromText } from './plan';
import { useWasmBackend } from '../../tests/helpers/tf';
import { runForward, warmUp } from '../model/run';
import { listWeights, randomWeights } from '../model/weights';
import { TINY_VIT } from '../../tests/helpers/tiny-vit';
import { randomPlan, seededRandom } from '../../tests/helpers/random-plans';

useWasmBackend();

const config = TINY_VIT;

describe('engine memory', () => {
  it('runForward keeps the tensor count and bytes flat over 1,000 forwards of random plans, a third of them recording evidence', async () => {
    const next = seededRandom(12345);
    const model = { config, weights: randomWeights(config, 2) };
    const pixels = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    await warmUp(model, [compilePlan(planFromText('tome:r=2', 4), config)]);
    const before = tf.memory();
    let peak = 0;
    for (let i = 0; i < 1000; i++) {
      const plan = compilePlan(planFromText(randomPlan(next), 4), config);
      const { logits } = await runForward(model, pixels, plan, { record: i % 3 === 0 ? 'fates' : i % 3 === 1 ? 'evidence' : 'none' });
      await logits.data();
      logits.dispose();
      peak = Math.max(peak, tf.memory().numBytes);
    }
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(peak).toBe(before.numBytes); // nothing is left over between forwards, at any point
    tf.dispose([pixels, ...listWeights(model.weights)]);
  }, 60_000);
});
