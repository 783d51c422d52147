import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { LMTrainer } from '../../src/train/lm-trainer';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { ConfigError, InputError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);

const tok = new ByteTokenizer();
const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(20);

async function weights(p: TransformerPolicy): Promise<Float32Array[]> {
  return Promise.all(p.trainableVariables.map(async (v) => (await v.data()) as Float32Array));
}

describe('LMTrainer', () => {
  it('lowers the loss, leaves no tensors behind over 20 steps, and is deterministic', async () => {
    const run = async () => {
      const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
      const trainer = new LMTrainer({ policy: p, batchSize: 4, sequenceLength: 24, learningRate: 3e-3, warmupSteps: 2, decaySteps: 20, seed: 9 });
      await trainer.train(tok.encode(text), { steps: 1 }); // creates the optimizer moments
      const h = await expectNoLeaks(() => trainer.train(tok.encode(text), { steps: 20 }));
      const w = await weights(p);
      expectNoLeaks(() => trainer.dispose(), { kept: -2 * p.trainableVariables.length }); // the Adam moments
      p.dispose();
      return { h, w };
    };
    const a = await run();
    expect(a.h.at(-1)!.loss).toBeLessThan(a.h[0]!.loss * 0.7);
    const b = await run();
    expect(b.h.map((s) => s.loss)).toEqual(a.h.map((s) => s.loss));
    expect(b.w).toEqual(a.w);
  });

  it('evaluate reports loss and perplexity; training on the text lowers them', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
    const trainer = new LMTrainer({ policy: p, batchSize: 4, sequenceLength: 24, learningRate: 3e-3, warmupSteps: 2 });
    const ids = tok.encode(text);
    const e0 = await trainer.evaluate(ids, { maxWindows: 8 });
    expect(e0.perplexity).toBeCloseTo(Math.exp(e0.loss), 6);
    await trainer.train(ids, { steps: 15 });
    const e1 = await trainer.evaluate(ids, { maxWindows: 8 });
    expect(e1.loss).toBeLessThan(e0.loss - 0.5);
    p.dispose();
  });

  it('validates options and inputs', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize);
    expect(() => new LMTrainer({ policy: p, learningRate: -1 })).toThrow(ConfigError);
    expect(() => new LMTrainer({ policy: p, sequenceLength: 99 })).toThrow(/sequenceLength = 99/);
    const t = new LMTrainer({ policy: p, sequenceLength: 8 });
    await expect(t.train([1, 2], { steps: 1 })).rejects.toThrow(InputError);
    await expect(t.train([...tok.encode('hello world'), 999], { steps: 1 })).rejects.toThrow(/tokens\[11\] = 999/);
    p.dispose();
  });
});
