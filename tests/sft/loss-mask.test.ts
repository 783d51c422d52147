import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { tokenizeChat } from '../../src/data/chat-template';
import type { ChatMessage } from '../../src/data/types';
import { SFTTrainer, sftBatch, type TokenizedSFTExample } from '../../src/sft';
import { setupBackend } from '../helpers/backend';

const tok = new ByteTokenizer();
let policy: TransformerPolicy;
beforeAll(async () => {
  await setupBackend();
  policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 7, contextLength: 96 });
});
afterAll(() => policy.dispose());

/** Mean of -log p over exactly the completion tokens and the EOS, via policy.logProbs (another batching path). */
async function manualLoss(examples: readonly TokenizedSFTExample[]): Promise<{ loss: number; tokens: number }> {
  const prompts = examples.map((e) => (e.promptIds.length > 0 ? [...e.promptIds] : [tok.bosId]));
  const responses = examples.map((e) => [...e.completionIds, tok.eosId]);
  const lps = await policy.logProbs(prompts, responses);
  const all = lps.flat();
  return { loss: -all.reduce((a, b) => a + b, 0) / all.length, tokens: all.length };
}

const ids = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: min, maxLength: max });
const examplesArb = fc.array(fc.record({ promptIds: ids(0, 9), completionIds: ids(1, 9) }), { minLength: 1, maxLength: 5 });

describe('SFT loss mask', () => {
  it('sftBatch marks exactly the targets, shifted by one column for tokenLogProbs(from = 1)', () => {
    const b = sftBatch([{ ids: [5, 6, 7, 8], lossMask: [0, 0, 1, 1] }, { ids: [1, 2], lossMask: [0, 1] }], 99);
    expect(b.batch.length).toBe(4);
    expect(Array.from(b.batch.ids)).toEqual([5, 6, 7, 8, 99, 99, 1, 2]);
    // output index c - 1 scores the token at column c: row 0 targets at columns 2, 3; row 1 at column 3.
    expect(Array.from(b.lossMask)).toEqual([0, 1, 1, 0, 0, 1]);
    expect(b.tokens).toBe(3);
  });

  it('property: evaluate and the training loss equal the mean -log p over completion + EOS tokens', async () => {
    await fc.assert(
      fc.asyncProperty(examplesArb, async (examples) => {
        const want = await manualLoss(examples);
        const evalTrainer = new SFTTrainer({ policy, tokenizer: tok, batchSize: 2 });
        const got = await evalTrainer.evaluate(examples);
        expect(got.tokens).toBe(want.tokens);
        expect(got.loss).toBeCloseTo(want.loss, 4);
        // The loss of a training step is reported before its update; lr ~ 0 keeps the policy intact anyway.
        const trainer = new SFTTrainer({ policy, tokenizer: tok, batchSize: examples.length, learningRate: 1e-30, minLearningRate: 0 });
        const [step] = await trainer.train(examples);
        trainer.dispose();
        expect(step!.tokens).toBe(want.tokens);
        expect(step!.loss).toBeCloseTo(want.loss, 4);
      }),
      { numRuns: 12, seed: 42 },
    );
  });

  it('text examples: loss over completion + EOS only; an empty prompt becomes [bosId]', async () => {
    const trainer = new SFTTrainer({ policy, tokenizer: tok });
    const got = await trainer.evaluate([{ prompt: 'Hi there:', completion: ' ok' }, { prompt: '', completion: 'x' }]);
    const want = await manualLoss([
      { promptIds: tok.encode('Hi there:'), completionIds: tok.encode(' ok') },
      { promptIds: [], completionIds: tok.encode('x') },
    ]);
    expect(got.tokens).toBe(4 + 2);
    expect(got.loss).toBeCloseTo(want.loss, 4);
    expect(got.perplexity).toBeCloseTo(Math.exp(got.loss), 4);
  });

  it('chat examples: loss only on assistant turns and their EOS', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: 'Ciao' },
    ];
    const { ids: chatIds, lossMask } = tokenizeChat(messages, tok);
    const [lp] = await policy.logProbs([chatIds.slice(0, 1)], [chatIds.slice(1)]); // token i at index i - 1
    let sum = 0;
    let n = 0;
    for (let i = 1; i < chatIds.length; i++) {
      if (lossMask[i] === 1) {
        sum -= lp![i - 1]!;
        n++;
      }
    }
    expect(n).toBe('Hello!'.length + 'Ciao'.length + 2);
    const trainer = new SFTTrainer({ policy, tokenizer: tok, batchSize: 2 });
    // A second, shorter conversation in the same batch shifts the first one's padding.
    const other: ChatMessage[] = [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }];
    const both = await trainer.evaluate([{ messages }, { messages: other }]);
    const alone = await trainer.evaluate([{ messages }]);
    expect(alone.tokens).toBe(n);
    expect(alone.loss).toBeCloseTo(sum / n, 4);
    expect(both.tokens).toBe(n + 2);
    const all = -lp!.reduce((a, b) => a + b, 0) / lp!.length;
    expect(Math.abs(alone.loss - all)).toBeGreaterThan(1e-3); // masking matters
  });
});
