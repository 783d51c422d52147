import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PPOTrainer } from '../../src/ppo/ppo-trainer';
import type { RewardSample } from '../../src/ppo/options';
import type { PPOStats } from '../../src/ppo/stats';
import { dialogueRollout } from '../../src/ppo/dialogue-rollout';
import { scoreDialogue } from '../../src/ppo/dialogue-score';
import { computeAdvantages } from '../../src/ppo/advantages';
import { userTurnIds } from '../../src/dialogue/conversation';
import { resolveDialogueOptions, type DialogueOptions } from '../../src/dialogue/options';
import { RewardModel } from '../../src/reward/reward-model';
import { Rng } from '../../src/ops/random';
import { ConfigError, InputError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { chattyPolicy, recordingSimulator, sampling, tok } from './helpers';

beforeAll(setupBackend);

const prompts = ['hi', 'say', 'go on', 'well'];
const strip = (s: PPOStats) => Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('time/')));
/** Reward: fraction of lowercase letters in the assistant turns of the conversation. */
const lowerShare = (samples: RewardSample[]) => samples.map((s) => {
  const text = (s.messages ?? []).filter((m) => m.role === 'assistant').map((m) => m.content).join('');
  return text.length === 0 ? 0 : [...text].filter((c) => c >= 'a' && c <= 'z').length / text.length;
});

function trainer(dialogue: DialogueOptions, reward: PPOTrainer['reward'] = lowerShare, seed = 5) {
  const policy = chattyPolicy();
  const ppo = new PPOTrainer({
    policy, reward, tokenizer: tok, learningRate: 1e-3, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2,
    maxNewTokens: 6, klCoef: 0.05, seed, dialogue,
  });
  return { policy, ppo, close: () => { ppo.dispose(); policy.dispose(); } };
}

describe('PPOTrainer with dialogue', () => {
  it('scores whole conversations by default and reports turns and masked user tokens', async () => {
    const { sim, calls } = recordingSimulator();
    const seen: RewardSample[] = [];
    const t = trainer({ userSimulator: sim, maxTurns: 3 }, (s) => { seen.push(...s); return lowerShare(s); });
    const stats = await t.ppo.step(prompts);
    expect(seen).toHaveLength(prompts.length); // one score per conversation
    seen.forEach((s, b) => {
      expect(s.messages![0]).toEqual({ role: 'user', content: prompts[b] });
      expect(s.messages![s.messages!.length - 1]!.role).toBe('assistant');
      expect(s.prompt).toBe(`<|user|>\n${prompts[b]}\n<|assistant|>\n`);
    });
    const userTurns = seen.map((s) => s.messages!.filter((m) => m.role === 'user').length - 1);
    expect(stats['dialogue/turns_per_conversation']).toBeCloseTo(1 + userTurns.reduce((a, x) => a + x, 0) / prompts.length, 6);
    expect(stats['dialogue/turns_per_conversation']).toBeGreaterThan(1);
    const inserted = seen.flatMap((s) => s.messages!.slice(1).filter((m) => m.role === 'user').map((m) => userTurnIds(m.content, tok).length));
    expect(stats['dialogue/user_tokens_masked']).toBe(inserted.reduce((a, x) => a + x, 0));
    expect(calls.length).toBeGreaterThanOrEqual(userTurns.reduce((a, x) => a + x, 0));
    expect(stats['objective/scores']).toBeCloseTo(lowerShare(seen).reduce((a, x) => a + x, 0) / prompts.length, 5);
    expect(stats['policy/approxkl_first']).toBe(0);
    t.close();
  });

  it("rewardPer 'turn' scores each assistant turn with the conversation before it, placed on the turn's last token", async () => {
    const policy = chattyPolicy();
    const ro = await dialogueRollout(policy, prompts, tok, sampling, resolveDialogueOptions({ userSimulator: recordingSimulator().sim }), new Rng(3));
    const seen: RewardSample[] = [];
    const perTurn = (s: RewardSample[]) => { seen.push(...s); return s.map((x) => x.messages!.length); }; // 2, 4, 6 for turns 1, 2, 3
    const scores = await scoreDialogue(perTurn, ro, tok, {}, { rewardPer: 'turn' }, 1);
    const turns = ro.dialogue.turns;
    expect(seen).toHaveLength(turns.flat().length);
    expect(turns.some((t) => t.length >= 2)).toBe(true);
    const R = ro.responseLength;
    const at = new Map<number, number>();
    turns.forEach((ts, b) => ts.forEach(([start, end], k) => {
      at.set(b * R + end - 1, 2 * (k + 1));
      const sample = seen.shift()!;
      expect(sample.responseIds).toEqual(ro.responseIds[b]!.slice(start, end));
      expect(sample.promptIds).toEqual([...ro.promptIds[b]!, ...ro.responseIds[b]!.slice(0, start)]);
      expect(sample.messages).toEqual(ro.dialogue.messages[b]!.slice(0, 2 * (k + 1)));
    }));
    scores.tokenScores!.forEach((v, i) => expect(v).toBe(at.get(i) ?? 0));
    expect(scores.final).toEqual(turns.map((ts) => ts.reduce((a, _, k) => a + 2 * (k + 1), 0)));
    // With no KL, zero values, gamma = lam = 1, the return of a token is the sum of the scores of its turn and the later ones.
    const whole = await scoreDialogue(perTurn, ro, tok, {}, { rewardPer: 'conversation' }, 1);
    const ret = async (tokenScores?: Float32Array, s = scores.final) => (await computeAdvantages({
      logProbs: new Float32Array(4 * R), refLogProbs: new Float32Array(4 * R), values: new Float32Array(4 * R), mask: ro.responseMask,
      scores: s, batch: 4, length: R, klCoef: 0, estimator: 'k1', whitenRewards: false, gamma: 1, lam: 1, ...(tokenScores && { tokenScores }),
    }, 'test')).returns;
    const perTurnReturns = await ret(scores.tokenScores);
    const wholeReturns = await ret(undefined, whole.final);
    turns.forEach((ts, b) => ts.forEach(([start, end], k) => {
      const later = ts.slice(k).reduce((a, _, j) => a + 2 * (k + j + 1), 0);
      for (let t = start; t < end; t++) {
        expect(perTurnReturns[b * R + t]).toBeCloseTo(later, 5);
        expect(wholeReturns[b * R + t]).toBeCloseTo(whole.final[b]!, 5); // one score at the conversation's last token
      }
    }));
    policy.dispose();
  });

  it('trains with a reward model per turn, leaks no tensors and is deterministic for a seed', async () => {
    const rmPolicy = chattyPolicy(9);
    const rm = RewardModel.fromPolicy(rmPolicy);
    const dialogue = (): DialogueOptions => ({ userSimulator: recordingSimulator().sim, maxTurns: 3, rewardPer: 'turn' });
    const a = trainer(dialogue(), rm);
    await a.ppo.step(prompts); // creates the optimizer moments
    const ha = await expectNoLeaks(async () => [await a.ppo.step(prompts), await a.ppo.step(prompts)]);
    const b = trainer(dialogue(), rm);
    const hb = [await b.ppo.step(prompts), await b.ppo.step(prompts), await b.ppo.step(prompts)];
    expect(hb.slice(1).map(strip)).toEqual(ha.map(strip));
    expect(ha.every((s) => Number.isFinite(s['objective/scores']) && s['dialogue/turns_per_conversation'] >= 1)).toBe(true);
    const c = trainer(dialogue(), rm, 6);
    expect(strip(await c.ppo.step(prompts))).not.toEqual(strip(hb[0]!));
    for (const t of [a, b, c]) t.close();
    rm.dispose();
    rmPolicy.dispose();
  });

  it('train() cycles through conversations; single-turn PPO reports 1 turn and 0 user tokens', async () => {
    const t = trainer({ userSimulator: recordingSimulator().sim, maxTurns: 2 });
    const h = await t.ppo.train([[{ role: 'user', content: 'hi' }], { messages: [{ role: 'user', content: 'a' }], userTurns: ['b'] }], { steps: 1 });
    expect(h).toHaveLength(1);
    t.close();
    const policy = chattyPolicy();
    const plain = new PPOTrainer({ policy, reward: lowerShare, tokenizer: tok, maxNewTokens: 4, batchSize: 2, miniBatchSize: 2, ppoEpochs: 1 });
    const s = await plain.step(['hi', 'ok']);
    expect(s['dialogue/turns_per_conversation']).toBe(1);
    expect(s['dialogue/user_tokens_masked']).toBe(0);
    await expect(plain.step([[{ role: 'user', content: 'hi' }]])).rejects.toThrow(InputError);
    plain.dispose();
    policy.dispose();
  });

  it('a checkpoint keeps maxTurns and rewardPer; the simulator is passed again to load, and training resumes exactly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rlhf-dialogue-'));
    const opts = { maxTurns: 3, rewardPer: 'turn' } as const;
    const a = trainer({ ...opts, userSimulator: recordingSimulator().sim });
    await a.ppo.step(prompts);
    await a.ppo.save(dir);
    const next = await a.ppo.step(prompts);
    const b = await PPOTrainer.load(dir, { reward: lowerShare, tokenizer: tok, dialogue: { ...opts, userSimulator: recordingSimulator().sim } });
    expect(b.options.dialogue).toMatchObject(opts);
    expect(strip(await b.step(prompts))).toEqual(strip(next));
    a.close();
    b.dispose(); // a loaded trainer owns its policy
    await rm(dir, { recursive: true, force: true });
  });

  it('bad dialogue options give a ConfigError naming the option', () => {
    const policy = chattyPolicy();
    const make = (dialogue: unknown) => () => new PPOTrainer({ policy, reward: lowerShare, tokenizer: tok, dialogue: dialogue as DialogueOptions });
    const param = (f: () => unknown) => { try { f(); } catch (e) { expect(e).toBeInstanceOf(ConfigError); return (e as ConfigError).param; } return undefined; };
    expect(param(make({ maxTurns: 0 }))).toBe('PPOTrainerOptions.dialogue.maxTurns');
    expect(param(make({ maxTurns: 1.5 }))).toBe('PPOTrainerOptions.dialogue.maxTurns');
    expect(param(make({ rewardPer: 'token' }))).toBe('PPOTrainerOptions.dialogue.rewardPer');
    expect(param(make({ userSimulator: 'bob' }))).toBe('PPOTrainerOptions.dialogue.userSimulator');
    expect(param(make(3))).toBe('PPOTrainerOptions.dialogue');
    expect(resolveDialogueOptions({})).toEqual({ maxTurns: 3, rewardPer: 'conversation' });
    policy.dispose();
  });
});
