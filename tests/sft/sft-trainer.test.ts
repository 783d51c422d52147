import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { ConfigError, InputError } from '../../src/errors';
import type { LogLevel } from '../../src/logging/logger';
import type { SFTExample } from '../../src/data/types';
import { SFTTrainer, prepareSequences, type SFTStepStats } from '../../src/sft';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);

const tok = new ByteTokenizer();

// "Loud: apple" -> " APPLE!": the format is a space, the word upper-cased, "!", then EOS.
const WORDS = ('apple bread chair dance eagle flame grape house juice knife lemon mouse night ocean piano queen river '
  + 'stone table uncle voice water youth zebra cloud dream field glass heart light money paper plant radio smile sugar '
  + 'tiger train world green black white brown happy sunny quiet loud cold warm rain snow wind fire lake tree bird fish '
  + 'frog goat lion wolf bear duck').split(' ');
const HELD_OUT = ['candy', 'metal', 'storm', 'honey', 'crown', 'spoon', 'robot', 'mango'];
const loud = (w: string): SFTExample => ({ prompt: `Loud: ${w}`, completion: ` ${w.toUpperCase()}!` });

const small: SFTExample[] = ['cat', 'dog', 'sun', 'sky', 'sea', 'owl'].map(loud);

async function weights(p: TransformerPolicy): Promise<Float32Array[]> {
  return Promise.all(p.trainableVariables.map(async (v) => (await v.data()) as Float32Array));
}

const withoutTiming = (h: SFTStepStats[]) => h.map(({ tokensPerSecond: _, ...rest }) => rest);

describe('SFTTrainer', () => {
  it('learns a demonstrated format: held-out loss halves and greedy samples follow it and stop', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 3 });
    const t = new SFTTrainer({ policy: p, tokenizer: tok, batchSize: 16, learningRate: 5e-3, warmupSteps: 5, seed: 1 });
    const held = HELD_OUT.map(loud);
    const e0 = await t.evaluate(held);
    const h = await t.train(WORDS.map(loud), { epochs: 30 });
    expect(h).toHaveLength(30 * Math.ceil(WORDS.length / 16));
    expect(h.at(-1)!.step).toBe(h.length);
    expect(h.at(-1)!.epoch).toBe(30);
    expect(h.at(-1)!.lr).toBeCloseTo(5e-4, 4); // decaySteps defaults to this call's total: ends at minLearningRate
    const e1 = await t.evaluate(held);
    expect(e1.tokens).toBe(HELD_OUT.length * 8); // " XXXXX!" + EOS
    expect(e1.loss).toBeLessThan(0.5 * e0.loss);
    const g = await p.generate(HELD_OUT.map((w) => tok.encode(`Loud: ${w}`)), { temperature: 0, maxNewTokens: 12, stopTokens: [tok.eosId] });
    const ok = g.tokens.filter((r) => r.at(-1) === tok.eosId && /^ [A-Z]+!$/.test(tok.decode(r)));
    expect(ok.length).toBeGreaterThanOrEqual(6);
    p.dispose();
  });

  it('truncatePrompt "error" names the example and its lengths; "left" keeps the completion and the prompt\'s right end', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize); // contextLength 32
    const prompt = 'abcdefghijklmnopqrstuvwxyz0123'; // 30 tokens: 30 + 3 + EOS = 34 > 32
    const examples = [loud('cat'), { prompt, completion: 'xyz' }];
    const strict = new SFTTrainer({ policy: p, tokenizer: tok });
    await expect(strict.train(examples)).rejects.toThrow(InputError);
    await expect(strict.evaluate(examples)).rejects.toThrow(/^examples\[1\] = \{"promptTokens":30,"completionTokens":4\}: .*34 tokens exceeds contextLength = 32/);
    const warnings: LogLevel[] = [];
    const left = new SFTTrainer({ policy: p, tokenizer: tok, truncatePrompt: 'left', logger: { log: (level) => warnings.push(level) } });
    const e = await left.evaluate(examples);
    expect(e.tokens).toBe(6 + 4); // ' CAT!' + EOS, 'xyz' + EOS
    expect(warnings).toContain('warn');
    const { sequences } = prepareSequences(examples, { tokenizer: tok, vocabSize: tok.vocabSize, contextLength: 32, truncatePrompt: 'left' });
    expect(sequences[1]!.ids).toEqual([...tok.encode(prompt.slice(2)), ...tok.encode('xyz'), tok.eosId]);
    expect(sequences[1]!.lossMask).toEqual([...new Array(28).fill(0), 1, 1, 1, 1]);
    expect(sequences[0]!.ids).toEqual([...tok.encode('Loud: cat'), ...tok.encode(' CAT!'), tok.eosId]);
    // The completion + EOS alone (31 + 1) leaves no room for a prompt token: an error even with 'left'.
    const tooLong = [{ prompt: 'q', completion: 'y'.repeat(31) }];
    await expect(left.evaluate(tooLong)).rejects.toThrow(/^examples\[0\] = .*does not fit contextLength = 32/);
    p.dispose();
  });

  it('leaves no tensors behind over train steps and evaluate', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { dropout: 0.1 });
    const t = new SFTTrainer({ policy: p, tokenizer: tok, batchSize: 4 });
    await t.train(small.slice(0, 4)); // one step: creates the optimizer moments
    await expectNoLeaks(async () => {
      await t.train(small, { epochs: 2 });
      await t.evaluate(small);
      t.exportState();
    });
    t.dispose();
    p.dispose();
  });

  it('is deterministic: same seed, same history and weights (dropout on); another seed differs', async () => {
    const run = async (seed: number) => {
      const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2, dropout: 0.1 });
      const t = new SFTTrainer({ policy: p, tokenizer: tok, batchSize: 4, seed, learningRate: 3e-3 });
      const h = await t.train(small, { epochs: 3 });
      const w = await weights(p);
      t.dispose();
      p.dispose();
      return { h: withoutTiming(h), w };
    };
    const a = await run(11);
    const b = await run(11);
    expect(b.h).toEqual(a.h);
    expect(b.w).toEqual(a.w);
    const c = await run(12);
    expect(c.h.map((s) => s.loss)).not.toEqual(a.h.map((s) => s.loss));
  });

  it('exportState/importState resume training exactly', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 4 });
    const opts = { tokenizer: tok, batchSize: 2, seed: 5, warmupSteps: 1, learningRate: 3e-3 };
    const a = new SFTTrainer({ policy: p, ...opts });
    await a.train(small);
    const state = a.exportState();
    expect(state.step).toBe(3);
    expect(state.decaySteps).toBe(3);
    const q = p.clone();
    const rest = withoutTiming(await a.train(small));
    const b = new SFTTrainer({ policy: q, ...opts, seed: 99 });
    b.importState(state);
    expect(b.step).toBe(3);
    expect(withoutTiming(await b.train(small))).toEqual(rest);
    expect(await weights(q)).toEqual(await weights(p));
    expect(() => b.importState({ ...state, step: -1 })).toThrow(/state\.step/);
    [a, b].forEach((t) => t.dispose());
    [p, q].forEach((x) => x.dispose());
  });

  it('rejects bad options with a ConfigError naming the option', () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ learningRate: -1 }, /SFTTrainerOptions\.learningRate = -1/],
      [{ batchSize: 0 }, /SFTTrainerOptions\.batchSize = 0/],
      [{ batchSize: 2.5 }, /SFTTrainerOptions\.batchSize/],
      [{ warmupSteps: -1 }, /SFTTrainerOptions\.warmupSteps/],
      [{ warmupSteps: 10, decaySteps: 5 }, /SFTTrainerOptions\.decaySteps = 5/],
      [{ minLearningRate: 1 }, /SFTTrainerOptions\.minLearningRate = 1/],
      [{ weightDecay: -0.1 }, /SFTTrainerOptions\.weightDecay/],
      [{ beta1: 1 }, /SFTTrainerOptions\.beta1 = 1/],
      [{ beta2: Number.NaN }, /SFTTrainerOptions\.beta2/],
      [{ adamEpsilon: 0 }, /SFTTrainerOptions\.adamEpsilon = 0/],
      [{ maxGradNorm: 0 }, /SFTTrainerOptions\.maxGradNorm = 0/],
      [{ truncatePrompt: 'right' }, /SFTTrainerOptions\.truncatePrompt = "right"/],
      [{ seed: 0.5 }, /SFTTrainerOptions\.seed/],
      [{ tokenizer: undefined }, /SFTTrainerOptions\.tokenizer/],
    ];
    for (const [o, re] of bad) {
      const make = () => new SFTTrainer({ policy: p, tokenizer: tok, ...o } as never);
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(re);
    }
    const narrow = TransformerPolicy.fromPreset('tiny', 100);
    expect(() => new SFTTrainer({ policy: narrow, tokenizer: tok })).toThrow(/SFTTrainerOptions\.tokenizer = 259/);
    narrow.dispose();
    p.dispose();
  });

  it('rejects bad examples with an InputError naming the example and field', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize);
    const t = new SFTTrainer({ policy: p, tokenizer: tok });
    const cases: [unknown[], RegExp][] = [
      [[], /^examples = \[\]/],
      [[loud('a'), { prompt: 'q', completion: '' }], /^examples\[1\]\.completion = "": is empty/],
      [[{ prompt: 'q', completion: 3 }], /^examples\[0\]\.completion = 3/],
      [[{ messages: [{ role: 'user', content: 'hi' }, { role: 'bot', content: 'x' }] }], /^examples\[0\]\.messages\[1\]\.role/],
      [[{ messages: [{ role: 'user', content: 'hi' }] }], /^examples\[0\]\.messages = .*no assistant turn/],
      [[{ promptIds: [1], completionIds: [2, tok.eosId] }], /^examples\[0\]\.completionIds = 256: must not end with eosId/],
      [[{ promptIds: [1, 999], completionIds: [2] }], /^examples\[0\]\.promptIds\[1\] = 999/],
      [[{ promptIds: [1], completionIds: [] }], /^examples\[0\]\.completionIds = \[\]: is empty/],
      [[null], /^examples\[0\] = null/],
    ];
    for (const [ex, re] of cases) {
      await expect(t.train(ex as never)).rejects.toThrow(InputError);
      await expect(t.evaluate(ex as never)).rejects.toThrow(re);
    }
    await expect(t.train(small, { epochs: 0 })).rejects.toThrow(ConfigError);
    expect(t.step).toBe(0);
    p.dispose();
  });
});
