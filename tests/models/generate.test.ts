import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ConfigError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);

const configArb = fc.record({
  vocabSize: fc.integer({ min: 5, max: 40 }),
  nLayer: fc.integer({ min: 1, max: 2 }),
  nHead: fc.constantFrom(1, 2, 4),
  headDim: fc.constantFrom(2, 4, 8),
  seed: fc.integer({ min: 0, max: 1000 }),
});

function promptsArb(vocab: number) {
  return fc.array(fc.array(fc.integer({ min: 0, max: vocab - 1 }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 });
}

function makePolicy(c: { vocabSize: number; nLayer: number; nHead: number; headDim: number; seed: number }) {
  return new TransformerPolicy({ vocabSize: c.vocabSize, contextLength: 16, nLayer: c.nLayer, nHead: c.nHead, dModel: c.nHead * c.headDim, seed: c.seed });
}

describe('generation', () => {
  it('greedy output with and without the KV cache is identical (property)', async () => {
    await fc.assert(fc.asyncProperty(configArb.chain((c) => fc.tuple(fc.constant(c), promptsArb(c.vocabSize))), async ([c, prompts]) => {
      const p = makePolicy(c);
      const a = await p.generate(prompts, { maxNewTokens: 6, temperature: 0, useCache: true });
      const b = await p.generate(prompts, { maxNewTokens: 6, temperature: 0, useCache: false });
      expect(a.tokens).toEqual(b.tokens);
      a.logProbs.forEach((row, i) => row.forEach((lp, j) => expect(Math.abs(lp - (b.logProbs[i]?.[j] as number))).toBeLessThan(1e-5)));
      p.dispose();
    }), { numRuns: 12 });
  });

  it("generate's log-probs equal a later full forward pass (sampling, temperature 0.7)", async () => {
    await fc.assert(fc.asyncProperty(configArb.chain((c) => fc.tuple(fc.constant(c), promptsArb(c.vocabSize))), async ([c, prompts]) => {
      const p = makePolicy(c);
      const g = await p.generate(prompts, { maxNewTokens: 7, temperature: 0.7, seed: 3 });
      const again = await p.logProbs(prompts, g.tokens, { temperature: 0.7 });
      g.logProbs.forEach((row, i) => row.forEach((lp, j) => expect(Math.abs(lp - (again[i]?.[j] as number))).toBeLessThan(1e-5)));
      p.dispose();
    }), { numRuns: 12 });
  });

  it('padding does not change what a prompt generates or its log-probs', async () => {
    const p = TransformerPolicy.fromPreset('tiny', 50, { seed: 7 });
    const short = [3, 1, 4];
    const alone = await p.generate([short], { maxNewTokens: 8, temperature: 0 });
    const batched = await p.generate([[9, 2, 6, 5, 3, 5, 8, 9], short, [7]], { maxNewTokens: 8, temperature: 0 });
    expect(batched.tokens[1]).toEqual(alone.tokens[0]);
    batched.logProbs[1]?.forEach((lp, j) => expect(Math.abs(lp - (alone.logProbs[0]?.[j] as number))).toBeLessThan(1e-5));
    const resp = [1, 2, 3, 4];
    const lpAlone = await p.logProbs([short], [resp]);
    const lpBatch = await p.logProbs([[9, 2, 6, 5, 3, 5, 8, 9], short], [[1], resp]);
    lpAlone[0]?.forEach((lp, j) => expect(Math.abs(lp - (lpBatch[1]?.[j] as number))).toBeLessThan(1e-5));
    p.dispose();
  });

  it('stops at a stop token and returns it; finished rows stay finished', async () => {
    const p = TransformerPolicy.fromPreset('tiny', 20, { seed: 2 });
    const free = await p.generate([[1, 2]], { maxNewTokens: 10, temperature: 0 });
    const stop = free.tokens[0]?.[2] as number;
    const g = await p.generate([[1, 2]], { maxNewTokens: 10, temperature: 0, stopTokens: [stop] });
    const first = free.tokens[0]?.indexOf(stop) as number;
    expect(g.tokens[0]).toEqual(free.tokens[0]?.slice(0, first + 1));
    expect(g.logProbs[0]?.length).toBe(g.tokens[0]?.length);
    p.dispose();
  });

  it('top-k = 1 equals greedy; top-p keeps sampling inside the nucleus', async () => {
    const p = TransformerPolicy.fromPreset('tiny', 30, { seed: 4 });
    const greedy = await p.generate([[1, 2, 3]], { maxNewTokens: 6, temperature: 0 });
    const k1 = await p.generate([[1, 2, 3]], { maxNewTokens: 6, temperature: 1, topK: 1, seed: 9 });
    expect(k1.tokens).toEqual(greedy.tokens);
    const tiny = await p.generate([[1, 2, 3]], { maxNewTokens: 6, temperature: 1, topP: 1e-6, seed: 9 });
    expect(tiny.tokens).toEqual(greedy.tokens);
    p.dispose();
  });

  it('the same seed gives the same samples; another seed differs', async () => {
    const a = TransformerPolicy.fromPreset('tiny', 64, { seed: 11 });
    const b = TransformerPolicy.fromPreset('tiny', 64, { seed: 11 });
    const prompts = [[1, 2, 3], [4]];
    const ga = await a.generate(prompts, { maxNewTokens: 12, seed: 5 });
    const gb = await b.generate(prompts, { maxNewTokens: 12, seed: 5 });
    const gc = await b.generate(prompts, { maxNewTokens: 12, seed: 6 });
    expect(ga).toEqual(gb);
    expect(gc.tokens).not.toEqual(ga.tokens);
    a.dispose();
    b.dispose();
  });

  it('leaves no tensors behind after generate (cache on and off)', async () => {
    const p = TransformerPolicy.fromPreset('tiny', 40, { seed: 1 });
    await expectNoLeaks(async () => {
      await p.generate([[1, 2], [3]], { maxNewTokens: 5 });
      await p.generate([[1, 2], [3]], { maxNewTokens: 5, useCache: false });
      await p.logProbs([[1, 2]], [[3, 4]]);
    });
    p.dispose();
  });

  it('forward refuses a cacheCapacity that cannot hold its tokens (ConfigError naming it), before touching memory', () => {
    const p = new TransformerPolicy({ vocabSize: 20, contextLength: 16, nLayer: 1, nHead: 2, dModel: 8, seed: 1 });
    const before = tf.memory().numTensors;
    for (const cacheCapacity of [3, 2.5, Number.NaN]) {
      expect(() => tf.tidy(() => {
        p.model.forward({
          ids: tf.tensor1d([1, 2, 3, 4], 'int32'), positions: tf.tensor1d([0, 1, 2, 3], 'int32'),
          bias: tf.zeros([1, 1, 4, 4]) as tf.Tensor4D, batch: 1, length: 4, cacheCapacity,
        });
      })).toThrow(ConfigError);
    }
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
  });
});
