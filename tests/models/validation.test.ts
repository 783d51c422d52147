import { beforeAll, describe, expect, it } from 'vitest';
import { TransformerPolicy } from '../../src/models/policy';
import { ConfigError, InputError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);

describe('typed errors for bad config and input', () => {
  it('nHead must divide dModel', () => {
    expect(() => new TransformerPolicy({ vocabSize: 10, contextLength: 8, nLayer: 1, nHead: 3, dModel: 8 }))
      .toThrow(ConfigError);
    try {
      new TransformerPolicy({ vocabSize: 10, contextLength: 8, nLayer: 1, nHead: 3, dModel: 8 });
    } catch (e) {
      expect((e as ConfigError).param).toBe('TransformerConfig.nHead');
      expect((e as ConfigError).value).toBe(3);
      expect((e as Error).message).toMatch(/divide dModel = 8/);
    }
  });

  it('rejects non-integer and missing sizes, bad dropout', () => {
    expect(() => new TransformerPolicy({ vocabSize: 10.5, contextLength: 8, nLayer: 1, nHead: 1, dModel: 8 })).toThrow(/vocabSize = 10.5/);
    expect(() => new TransformerPolicy({ vocabSize: 10, contextLength: 0, nLayer: 1, nHead: 1, dModel: 8 })).toThrow(/contextLength = 0/);
    expect(() => new TransformerPolicy({ vocabSize: 10, contextLength: 8, nLayer: 1, nHead: 1, dModel: 8, dropout: 1 })).toThrow(/dropout = 1/);
    expect(() => new TransformerPolicy({ contextLength: 8, nLayer: 1, nHead: 1, dModel: 8 } as never)).toThrow(/vocabSize = undefined/);
  });

  it('token id >= vocabSize, empty prompt list, empty prompt, prompt longer than the context', async () => {
    const p = TransformerPolicy.fromPreset('tiny', 20);
    await expect(p.generate([[1, 20]])).rejects.toThrow(InputError);
    await expect(p.generate([[1, 20]])).rejects.toThrow(/prompts\[0\]\[1\] = 20/);
    await expect(p.generate([])).rejects.toThrow(/prompts = \[\]: must be a non-empty array/);
    await expect(p.generate([[1], []])).rejects.toThrow(/prompts\[1\] = \[\]: must not be empty/);
    const long = Array.from({ length: 30 }, () => 1);
    await expect(p.generate([long], { maxNewTokens: 5 })).rejects.toThrow(/prompts\[0\]\.length = 30.*exceeds contextLength = 32/);
    await expect(p.logProbs([long], [long])).rejects.toThrow(/exceeds contextLength = 32/);
    await expect(p.generate([[1]], { maxNewTokens: 4, temperature: -1 })).rejects.toThrow(ConfigError);
    await expect(p.generate([[1]], { maxNewTokens: 4, topP: 0 })).rejects.toThrow(/topP = 0/);
    await expect(p.generate([[1]], { maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens = 0/);
    await expect(p.generate([[1]], { maxNewTokens: 4, stopTokens: [99] })).rejects.toThrow(/stopTokens\[0\] = 99/);
    p.dispose();
  });

  it('generate: every bad option is a ConfigError naming it (no TypeError, no NaN seed), before any tensor is made', async () => {
    const p = TransformerPolicy.fromPreset('tiny', 20);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ stopTokens: 5 }, /^stopTokens = 5: must be an array of token ids/],
      [{ stopTokens: 'ab' }, /^stopTokens = "ab": must be an array/],
      [{ stopTokens: [1, 2.5] }, /^stopTokens\[1\] = 2\.5: must be a token id in \[0, 20\)/],
      [{ stopTokens: [-1] }, /^stopTokens\[0\] = -1/],
      [{ seed: NaN }, /^seed = NaN: must be a safe integer/],
      [{ seed: Infinity }, /^seed = Infinity/],
      [{ seed: 1.5 }, /^seed = 1\.5/],
      [{ seed: '3' }, /^seed = "3"/],
      [{ maxNewTokens: NaN }, /^maxNewTokens = NaN: must be an integer >= 1/],
      [{ maxNewTokens: undefined, stopTokens: 5 }, /^stopTokens = 5/],
      [{ maxNewTokens: '4' }, /^maxNewTokens = "4"/],
      [{ temperature: NaN }, /^temperature = NaN: must be a finite number >= 0/],
      [{ topK: 2.5 }, /^topK = 2\.5: must be an integer in \[0, 20\]/],
      [{ topP: NaN }, /^topP = NaN/],
      [{ useCache: 'yes' }, /^useCache = "yes": must be true or false/],
      [{ onToken: 3 }, /^onToken = 3: must be a function/],
    ];
    await expectNoLeaks(async () => {
      for (const [options, message] of bad) {
        const err = await p.generate([[1]], { maxNewTokens: 4, ...options } as never).then(() => undefined, (e: unknown) => e);
        expect(err, JSON.stringify(options)).toBeInstanceOf(ConfigError);
        expect((err as Error).message, JSON.stringify(options)).toMatch(message);
      }
    });
    // Valid edge values still work: a negative seed is a seed like any other, and equal seeds agree.
    const a = await p.generate([[1, 2]], { maxNewTokens: 3, seed: -7, stopTokens: [] });
    const b = await p.generate([[1, 2]], { maxNewTokens: 3, seed: -7 });
    expect(a.tokens).toEqual(b.tokens);
    p.dispose();
  });
});

describe('seeds and clones', () => {
  it('the same seed gives the same weights; another seed differs', async () => {
    const a = TransformerPolicy.fromPreset('tiny', 20, { seed: 9 });
    const b = TransformerPolicy.fromPreset('tiny', 20, { seed: 9 });
    const c = TransformerPolicy.fromPreset('tiny', 20, { seed: 10 });
    for (let i = 0; i < a.trainableVariables.length; i++) {
      expect(await a.trainableVariables[i]!.data()).toEqual(await b.trainableVariables[i]!.data());
    }
    expect(await c.trainableVariables[0]!.data()).not.toEqual(await a.trainableVariables[0]!.data());
    [a, b, c].forEach((p) => p.dispose());
  });

  it('clone() is independent: changing the original leaves the clone as it was', async () => {
    const p = TransformerPolicy.fromPreset('tiny', 20, { seed: 9 });
    const q = p.clone();
    const before = await q.trainableVariables[0]!.data();
    p.trainableVariables[0]!.assign(p.trainableVariables[0]!.mul(2));
    expect(await q.trainableVariables[0]!.data()).toEqual(before);
    p.dispose();
    expect(await q.trainableVariables[0]!.data()).toEqual(before);
    q.dispose();
  });
});
