import { beforeAll, describe, expect, it } from 'vitest';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { SFTTrainer } from '../../src/sft';
import { ConfigError } from '../../src/errors';
import { calculatorTool } from '../../src/tools/calculator';
import { ToolRunner } from '../../src/tools/runner';
import type { Tool } from '../../src/tools/tool';
import { rollout } from '../../src/ppo/rollout';
import { PPOTrainer } from '../../src/ppo/ppo-trainer';
import { Rng } from '../../src/ops/random';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);

const tok = new ByteTokenizer();
const calc = calculatorTool();

/** Feeds `text` to a runner one byte token at a time, as the decoding loop would; returns the tokens with tool output. */
async function feed(runner: ToolRunner, text: string): Promise<{ tokens: number[]; fromTool: boolean[] }> {
  const tokens: number[] = [];
  const fromTool: boolean[] = [];
  const input = tok.encode(text);
  for (let i = 0; i < input.length;) {
    const forced = runner.nextForced(0);
    tokens.push(forced ?? (input[i++] as number));
    fromTool.push(forced !== undefined);
    await runner.afterStep([tokens], [forced === undefined]);
  }
  for (let f = runner.nextForced(0); f !== undefined; f = runner.nextForced(0)) {
    tokens.push(f);
    fromTool.push(true);
  }
  return { tokens, fromTool };
}

describe('ToolRunner: finds calls in decoded text', () => {
  it('runs the tool on the text between markers spanning many tokens, once per end marker', async () => {
    const r = new ToolRunner([calc], tok, 4, 1);
    const out = await feed(r, 'so <calc>12*34</calc>, then <calc>1/0</calc>.');
    expect(tok.decode(out.tokens)).toBe('so <calc>12*34</calc>408, then <calc>1/0</calc>error: division by zero.');
    const text = tok.decode(out.tokens.filter((_, i) => out.fromTool[i]));
    expect(text).toBe('408error: division by zero');
    expect(r.calls).toEqual([2]);
    expect(r.errors).toEqual([1]);
  });

  it('ignores an end marker without a start, stops at maxToolCalls, and turns a throw into error text', async () => {
    const r = new ToolRunner([calc], tok, 1, 1);
    const out = await feed(r, '</calc> <calc>2+2</calc> <calc>3+3</calc>');
    expect(tok.decode(out.tokens)).toBe('</calc> <calc>2+2</calc>4 <calc>3+3</calc>');
    const boom: Tool = { name: 'boom', start: '[', end: ']', run: async () => { throw new Error('x'.repeat(1000)); } };
    const r2 = new ToolRunner([boom, calc], tok, 4, 1);
    const out2 = await feed(r2, 'a[b] <calc>5-7</calc>');
    expect(tok.decode(out2.tokens)).toBe(`a[b]error: ${'x'.repeat(200)} <calc>5-7</calc>-2`);
    expect(r2.errors).toEqual([1]);
    expect(r2.calls).toEqual([2]);
  });
});

describe('generate with tools', () => {
  it('a tiny policy trained to write <calc>12*34</calc> gets 408 inserted and marked, cached or not, batched with a row without calls', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
    const sft = new SFTTrainer({ policy: p, tokenizer: tok, batchSize: 2, learningRate: 1e-2, warmupSteps: 2, seed: 1 });
    await sft.train([{ prompt: 'Q12*34:', completion: '<calc>12*34</calc>' }, { prompt: 'Hi:', completion: ' hello' }], { epochs: 80 });
    const prompts = [tok.encode('Q12*34:'), tok.encode('Hi:')];
    const base = { temperature: 0, maxNewTokens: 24, stopTokens: [tok.eosId] };
    const plain = await p.generate(prompts, base);
    expect(tok.decode(plain.tokens[0] as number[])).toBe('<calc>12*34</calc>');
    expect(plain.fromTool).toEqual(plain.tokens.map((r) => r.map(() => false)));
    expect(plain.toolCalls).toEqual([0, 0]);
    for (const useCache of [true, false]) {
      const g = await expectNoLeaks(() => p.generate(prompts, { ...base, useCache, tools: [calc], tokenizer: tok }));
      const row = g.tokens[0] as number[];
      const marks = g.fromTool?.[0] as boolean[];
      expect(tok.decode(row).startsWith('<calc>12*34</calc>408')).toBe(true);
      expect(marks.length).toBe(row.length);
      const k = '<calc>12*34</calc>'.length;
      expect(marks.slice(0, k + 3)).toEqual([...Array(k).fill(false), true, true, true]);
      expect(marks.slice(k + 3).every((m) => !m)).toBe(true);
      expect(g.logProbs[0]?.slice(k, k + 3)).toEqual([0, 0, 0]);
      expect(g.tokens[1]).toEqual(plain.tokens[1]); //     the row without a call is unchanged
      expect(g.fromTool?.[1]?.every((m) => !m)).toBe(true);
      expect(g.toolCalls).toEqual([1, 0]);
      expect(g.toolErrors).toEqual([0, 0]);
    }

    // RL rollouts (PPO, GRPO, RLOO share this stage): the tool's tokens stay in the response but leave
    // the mask that every loss and the KL use.
    const o = { ...base, temperature: 0.01, topK: 0, topP: 1, tools: [calc], maxToolCalls: 4 };
    const ro = await rollout(p, ['Q12*34:', 'Hi:'], tok, o, new Rng(3));
    const seen = await p.generate(prompts, { ...o, seed: new Rng(3).nextUint32(), tokenizer: tok });
    expect(ro.responseIds).toEqual(seen.tokens);
    expect(ro.toolCalls).toEqual([1, 0]);
    const R = ro.responseLength;
    seen.fromTool!.forEach((row, b) => row.forEach((tool, j) => expect(ro.responseMask[b * R + j]).toBe(tool ? 0 : 1)));
    expect(seen.fromTool!.flat().filter(Boolean)).toHaveLength(3); // '4', '0', '8'

    const ppo = new PPOTrainer({ policy: p, reward: (rows) => rows.map((r) => (r.response.includes('408') ? 1 : 0)), tokenizer: tok,
      tools: [calc], temperature: 0.01, maxNewTokens: 24, batchSize: 2, miniBatchSize: 2, learningRate: 1e-5, seed: 2 });
    const stats = await ppo.step(['Q12*34:', 'Hi:']);
    expect(stats['tools/calls_per_response']).toBe(0.5);
    expect(stats['tools/errors']).toBe(0);
    expect(Number.isFinite(stats['loss/policy_avg']) && Number.isFinite(stats['objective/kl'])).toBe(true);
    ppo.dispose();
    await expect(Promise.resolve().then(() => new PPOTrainer({ policy: p, reward: () => [0], tokenizer: tok, tools: [calc, calc] })))
      .rejects.toThrow(/PPOTrainerOptions.tools\[1\].name/);
    p.dispose();
  }, 240_000);

  it('requires a tokenizer with tools and checks the tools', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 1 });
    await expect(p.generate([[1]], { tools: [calc] })).rejects.toThrow(ConfigError);
    await expect(p.generate([[1]], { tools: [calc, calc], tokenizer: tok })).rejects.toThrow(/GenerateOptions.tools\[1\].name/);
    await expect(p.generate([[1]], { tools: [{ ...calc, run: 3 } as unknown as Tool], tokenizer: tok })).rejects.toThrow(ConfigError);
    await expect(p.generate([[1]], { tools: [calc], tokenizer: tok, maxToolCalls: -1 })).rejects.toThrow(ConfigError);
    p.dispose();
  });
});
