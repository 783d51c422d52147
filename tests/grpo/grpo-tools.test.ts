import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { SFTTrainer } from '../../src/sft';
import { ConfigError } from '../../src/errors';
import { calculatorTool } from '../../src/tools/calculator';
import { GRPOTrainer, RLOOTrainer } from '../../src/grpo/grpo-trainer';
import { resolveGroupOptions } from '../../src/grpo/options';
import { groupUpdate } from '../../src/grpo/update';
import type { GRPOStats } from '../../src/grpo/stats';
import { rollout } from '../../src/ppo/rollout';
import { minibatchPlan } from '../../src/ppo/update';
import { referenceLogProbs } from '../../src/ppo/evaluate-rollout';
import { responseForward } from '../../src/ppo/forward';
import { grpoLoss } from '../../src/rl/grpo-loss';
import { AdamW } from '../../src/optim/adamw';
import { Rng } from '../../src/ops/random';
import type { ColumnRewardSample } from '../../src/rewards/rewards';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

const tok = new ByteTokenizer();
const calc = calculatorTool();
const prompts = ['Q12*34:', 'Q1/0:'];
/** 1 when the completion holds the product (written by the tool), else 0. */
const has408 = (s: ColumnRewardSample[]) => s.map((x) => (x.response.includes('408') ? 1 : 0));
const settings = { tokenizer: tok, reward: has408, numGenerations: 2, batchSize: 2, maxNewTokens: 48, temperature: 0.05, learningRate: 1e-3, seed: 3 };
let policy: TransformerPolicy;

beforeAll(async () => {
  await setupBackend();
  // A tiny policy that calls the calculator on two prompts (one call succeeds, one is an error).
  policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5, contextLength: 64 });
  const sft = new SFTTrainer({ policy, tokenizer: tok, batchSize: 3, learningRate: 1e-2, warmupSteps: 2, seed: 1 });
  await sft.train([
    { prompt: 'Q12*34:', completion: '<calc>12*34</calc>' },
    { prompt: 'Q1/0:', completion: '<calc>1/0</calc>' },
    { prompt: 'Hi:', completion: ' hello' },
  ], { epochs: 80 });
}, 240_000);
afterAll(() => policy?.dispose());

const strip = (s: GRPOStats) => ({ ...s, step_time: 0 });

describe('GRPO / RLOO with tools', () => {
  it('tool-written tokens get zero weight: loss, KL and update ignore their log-probs', async () => {
    const o = resolveGroupOptions({ policy, ...settings, beta: 0.1, lossType: 'grpo' }, { name: 'GRPOTrainerOptions', numGenerations: 8, beta: 0, lossType: 'dapo' });
    const ro = await rollout(policy, [...prompts, ...prompts], tok, { ...o, tools: [calc], maxToolCalls: 4 }, new Rng(1));
    expect(ro.toolCalls).toEqual([1, 1, 1, 1]);
    expect(ro.toolErrors).toEqual([0, 1, 0, 1]);
    const R = ro.responseLength;
    // The tool's text is in the response; the mask is 0 there and 1 on the policy's own tokens.
    const toolAt: number[] = [];
    ro.responseIds.forEach((ids, b) => {
      const text = tok.decode(ids);
      const call = b % 2 === 0 ? '<calc>12*34</calc>' : '<calc>1/0</calc>';
      const out = b % 2 === 0 ? '408' : 'error: division by zero';
      expect(text.slice(0, call.length + out.length)).toBe(call + out);
      for (let j = 0; j < ids.length; j++) {
        const tool = j >= call.length && j < call.length + out.length;
        expect(ro.responseMask[b * R + j]).toBe(tool ? 0 : 1);
        if (tool) toolAt.push(b * R + j);
      }
    });
    expect(toolAt).toHaveLength(2 * (3 + 23));

    const plan = minibatchPlan(ro.batch.batch, { ppoEpochs: 2, miniBatchSize: 2 }, new Rng(2));
    const oldLogProbs = await referenceLogProbs(policy, ro, plan[0] as number[][], o.temperature);
    const refLogProbs = oldLogProbs.map((x, i) => x - 0.05 * ((i % 7) - 3)); //  a reference that differs
    const advantages = Float32Array.from([1, -1, 0.5, -0.5]);
    // The same targets except at tool-written tokens, where old and reference log-probs are moved far.
    const wild = (x: Float32Array) => { const y = x.slice(); for (const i of toolAt) y[i] = (y[i] as number) + (i % 2 ? -3 : 2); return y; };
    const run = async (t: { oldLogProbs: Float32Array; refLogProbs: Float32Array }, mask = ro.responseMask) => {
      const p = policy.clone();
      const opt = new AdamW(p.trainableVariables, { learningRate: 1e-2, weightDecay: 0 });
      const stats = await groupUpdate({ policy: p, opt, ro: { ...ro, responseMask: mask }, targets: { ...t, advantages }, plan, o, where: 'test' });
      const weights = await Promise.all(p.trainableVariables.map((v) => v.data()));
      opt.dispose();
      p.dispose();
      return { stats, weights: weights.map((w) => Array.from(w as Float32Array)) };
    };
    const a = await expectNoLeaks(() => run({ oldLogProbs, refLogProbs }));
    const b = await run({ oldLogProbs: wild(oldLogProbs), refLogProbs: wild(refLogProbs) });
    expect(b.stats).toEqual(a.stats);
    expect(b.weights).toEqual(a.weights);
    expect(a.stats.kl).toBeGreaterThan(0);
    // Control: were the tool tokens in the mask, the same change would move loss, KL and weights.
    const all = ro.responseMask.slice();
    for (const i of toolAt) all[i] = 1;
    const c = await run({ oldLogProbs, refLogProbs }, all);
    const d = await run({ oldLogProbs: wild(oldLogProbs), refLogProbs: wild(refLogProbs) }, all);
    expect(d.stats.kl).not.toBe(c.stats.kl);
    expect(d.weights).not.toEqual(c.weights);

    // The current policy's log-probs at tool tokens get exactly zero gradient.
    const rows = [0, 1, 2, 3];
    const grad = tf.tidy(() => {
      const f = responseForward(policy, ro.batch, ro.responseStart, R, o.temperature);
      const t2 = (x: Float32Array) => tf.tensor2d(x, [4, R]);
      const loss = (lp: tf.Tensor) => grpoLoss({
        logProbs: lp, oldLogProbs: t2(oldLogProbs), refLogProbs: t2(refLogProbs), advantages: tf.tensor1d(advantages),
        mask: t2(ro.responseMask), beta: 0.1, lossType: 'grpo',
      }).loss;
      return tf.grad(loss)(f.logProbs).dataSync();
    });
    expect(rows.length * R).toBe(grad.length);
    for (const i of toolAt) expect(grad[i]).toBe(0);
    const own = Array.from(grad).filter((g, i) => ro.responseMask[i] === 1 && g !== 0);
    expect(own.length).toBeGreaterThan(10);
  }, 240_000);

  it('steps report tools/calls_per_response and tools/errors, leak nothing, and RLOO takes tools too', async () => {
    const t = new GRPOTrainer({ policy: policy.clone(), ...settings, tools: [calc] });
    const first = await t.step(prompts);
    expect(first['tools/calls_per_response']).toBe(1);
    expect(first['tools/errors']).toBe(2); //                          both samples of 'Q1/0:'
    expect(first.reward).toBe(0.5); //                                  the tool wrote 408 for 'Q12*34:'
    const again = await expectNoLeaks(() => t.step(prompts));
    expect(Number.isFinite(again.loss) && Number.isFinite(again.kl)).toBe(true);
    t.policy.dispose();
    t.dispose();
    // Without tools the end marker is plain text: no calls, no 408.
    const plain = new GRPOTrainer({ policy: policy.clone(), ...settings });
    const p = await plain.step(prompts);
    expect([p['tools/calls_per_response'], p['tools/errors'], p.reward]).toEqual([0, 0, 0]);
    plain.policy.dispose();
    plain.dispose();
    const r = new RLOOTrainer({ policy: policy.clone(), ...settings, tools: [calc], maxToolCalls: 1 });
    const rs = await r.step([...prompts].reverse());
    expect([rs['tools/calls_per_response'], rs['tools/errors']]).toEqual([1, 2]);
    r.policy.dispose();
    r.dispose();
  }, 240_000);

  it('save / load with the tools passed again resumes exactly; other tools or none are refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'grpo-tools-'));
    try {
      const a = new GRPOTrainer({ policy: policy.clone(), ...settings, tools: [calc], maxToolCalls: 2 });
      const ha = [await a.step(prompts), await a.step(prompts)];
      const b = new GRPOTrainer({ policy: policy.clone(), ...settings, tools: [calc], maxToolCalls: 2 });
      await b.step(prompts);
      await b.save(dir);
      b.policy.dispose();
      b.dispose();
      const c = await GRPOTrainer.load(dir, { reward: has408, tokenizer: tok, tools: [calc] });
      expect(c.options.maxToolCalls).toBe(2);
      expect(c.options.tools).toEqual([calc]);
      expect(strip(await c.step(prompts))).toEqual(strip(ha[1] as GRPOStats));
      const before = tf.memory().numTensors;
      await expect(GRPOTrainer.load(dir, { reward: has408, tokenizer: tok })).rejects.toThrow(ConfigError);
      const other = { ...calc, name: 'abacus' };
      await expect(GRPOTrainer.load(dir, { reward: has408, tokenizer: tok, tools: [other] })).rejects.toThrow(/calculator/);
      expect(tf.memory().numTensors).toBe(before);
      a.policy.dispose(); a.dispose(); c.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('validates tools and maxToolCalls with ConfigError naming the option', () => {
    const make = (over: Record<string, unknown>) => () => new GRPOTrainer({ policy, ...settings, ...over } as never);
    expect(make({ tools: [calc, calc] })).toThrow(/GRPOTrainerOptions\.tools\[1\]\.name/);
    expect(make({ tools: calc })).toThrow(/GRPOTrainerOptions\.tools/);
    expect(make({ tools: [{ ...calc, run: 'x' }] })).toThrow(/GRPOTrainerOptions\.tools\[0\]\.run/);
    expect(make({ tools: [calc], maxToolCalls: -1 })).toThrow(/GRPOTrainerOptions\.maxToolCalls/);
    expect(() => new RLOOTrainer({ policy, ...settings, maxToolCalls: 1.5 })).toThrow(/RLOOTrainerOptions\.maxToolCalls/);
    for (const over of [{ tools: [calc, calc] }, { maxToolCalls: -1 }]) expect(make(over)).toThrow(ConfigError);
  });
});
