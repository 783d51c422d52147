import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { RewardModel } from '../../src/reward/reward-model';
import { RewardTrainer } from '../../src/reward/reward-trainer';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { ConfigError, InputError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { sentimentRankings } from './sentiment-data';

beforeAll(setupBackend);
const tok = new ByteTokenizer();

describe('RewardTrainer', () => {
  it('learns a sentiment labeller: >= 0.9 held-out pairwise accuracy; no tensor leaks', async () => {
    const rm = new RewardModel({ vocabSize: tok.vocabSize, contextLength: 64, nLayer: 2, nHead: 4, dModel: 64, seed: 3 });
    const trainer = new RewardTrainer({ model: rm, tokenizer: tok, learningRate: 1e-3, batchSize: 4, warmupSteps: 10, decaySteps: 430, maxGradNorm: 10, seed: 1 });
    const train = sentimentRankings(240, 1);
    const held = sentimentRankings(60, 999);
    const before = await trainer.evaluate(held);
    await trainer.train(train.slice(0, 4)); // first step creates the optimizer moments
    const history = await expectNoLeaks(() => trainer.train(train, { epochs: 7 }));
    const after = await expectNoLeaks(() => trainer.evaluate(held));
    expect(before.accuracy).toBeLessThan(0.8);
    expect(after.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.margin).toBeGreaterThan(0);
    expect(history.length).toBe(7 * 60);
    expect(history.every((h) => Number.isFinite(h.loss))).toBe(true);
    rm.dispose();
  });

  it('validates options and data with typed errors', async () => {
    const rm = new RewardModel({ vocabSize: tok.vocabSize, contextLength: 16, nLayer: 1, nHead: 1, dModel: 8 });
    expect(() => new RewardTrainer({ model: rm, tokenizer: tok, learningRate: 0 })).toThrow(ConfigError);
    expect(() => new RewardTrainer({ model: rm, tokenizer: tok, truncatePrompt: 'right' as never })).toThrow(/truncatePrompt/);
    const t = new RewardTrainer({ model: rm, tokenizer: tok });
    await expect(t.train([{ prompt: 'p', chosen: 'a', rejected: 'a' }])).rejects.toThrow(/data\[0\]\.rejected/);
    await expect(t.train([{ prompt: 'p', responses: ['a', 'b'], ranking: [0, 0] }])).rejects.toThrow(/data\[0\].*no comparison/);
    await expect(t.train([{ prompt: 'a long prompt here', chosen: 'a fairly long answer', rejected: 'b' }])).rejects.toThrow(InputError);
    const left = new RewardTrainer({ model: rm, tokenizer: tok, truncatePrompt: 'left' });
    await expect(left.train([{ prompt: 'a long prompt here', chosen: 'short', rejected: 'b' }])).resolves.toHaveLength(1);
    rm.dispose();
  });
});
