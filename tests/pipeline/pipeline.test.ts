// RlhfPipeline and runRounds on a tiny seeded policy with a scripted labeller: every stage runs, writes
// what it says, resumes labelling, and leaks no tensors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { TransformerPolicy } from '../../src/models/policy';
import { RlhfPipeline } from '../../src/pipeline/pipeline';
import { loadTokenizer } from '../../src/hf/tokenizer-files';
import { runRounds } from '../../src/pipeline/rounds';
import { ConfigError, RlhfError } from '../../src/errors';
import type { Labeler } from '../../src/feedback/types';

const tok = new ByteTokenizer();
let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'rlhf-pipeline-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Prefers responses with more letters 'e' (ties broken by shorter); counts its calls. */
function scriptedLabeler(): Labeler & { calls: number } {
  const l = {
    name: 'scripted:e-count',
    calls: 0,
    label: async (req: { responses: readonly string[] }) => {
      l.calls += 1;
      const key = req.responses.map((r, i) => ({ i, s: (r.match(/e/g) ?? []).length * 100 - r.length }));
      const order = [...key].sort((a, b) => b.s - a.s || a.i - b.i);
      const ranking = new Array<number>(key.length);
      order.forEach((x, rank) => { ranking[x.i] = rank; });
      return { kind: 'ranked' as const, ranking };
    },
  };
  return l;
}

const demos = Array.from({ length: 16 }, (_, i) => ({ prompt: `Q${i % 4}:`, completion: ' see the tree' }));
const prompts = ['Q0:', 'Q1:', 'Q2:', 'Q3:', 'Q4:', 'Q5:'];
const small = (outDir: string, labeler: Labeler) => ({
  policy: TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 3 }),
  tokenizer: tok, outDir, labeler, seed: 2,
  sft: { learningRate: 1e-3, batchSize: 8, warmupSteps: 1 },
  collect: { k: 3, sampling: { maxNewTokens: 6, temperature: 1 } },
  reward: { batchSize: 2, warmupSteps: 1, heldOutFraction: 0.4 },
  ppo: { steps: 2, batchSize: 4, miniBatchSize: 2, ppoEpochs: 1, maxNewTokens: 6 },
});

describe('RlhfPipeline', () => {
  it('runs SFT -> comparisons -> reward model -> PPO, writes every artefact, resumes labelling, leaks nothing', async () => {
    const out = join(dir, 'run');
    const labeler = scriptedLabeler();
    await expectNoLeaks(async () => {
      const o = small(out, labeler);
      const p = new RlhfPipeline(o);
      const result = await p.run({ demonstrations: demos, heldOutDemonstrations: demos.slice(0, 4), comparisonPrompts: prompts, ppoPrompts: prompts });
      expect(result.sft.steps).toBe(2);
      expect(result.sft.after!.loss).toBeLessThan(result.sft.before!.loss);
      expect(result.collect.labelled).toBe(prompts.length);
      expect(labeler.calls).toBe(prompts.length);
      expect(result.reward.trainRecords + result.reward.heldOutRecords).toBe(prompts.length);
      expect(result.reward.heldOutRecords).toBeGreaterThan(0);
      expect(Number.isFinite(result.reward.after!.accuracy)).toBe(true);
      expect(result.ppo.stats).toHaveLength(2);
      expect(Number.isFinite(result.ppo.lastScore) && Number.isFinite(result.ppo.lastKl)).toBe(true);
      for (const f of ['sft-policy/config.json', 'reward-model/config.json', 'ppo/trainer.json', 'comparisons.jsonl']) {
        expect(existsSync(join(out, f)), f).toBe(true);
      }
      // Every checkpoint folder holds its tokenizer, read back by loadTokenizer.
      for (const d of ['sft-policy', 'reward-model', 'ppo', 'ppo/policy']) {
        const t = await loadTokenizer(join(out, d));
        expect(t, d).toBeInstanceOf(ByteTokenizer);
        expect(t.encode('héllo')).toEqual(new ByteTokenizer().encode('héllo'));
      }
      const lines = (await readFile(join(out, 'comparisons.jsonl'), 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(prompts.length);
      expect(JSON.parse(lines[0] as string)).toMatchObject({ prompt: 'Q0:', labeler: 'scripted:e-count' });

      // A second collection over the same prompts asks nothing: they are already in the file.
      const again = await p.collect(prompts);
      expect(labeler.calls).toBe(prompts.length);
      expect(again.labelled).toBe(0);

      p.dispose();
      o.policy.dispose();
    });
  });

  it('runRounds: two rounds, each with its checkpoint and summary; the reward model sees both rounds', async () => {
    const out = join(dir, 'rounds');
    const o = small(out, scriptedLabeler());
    const p = new RlhfPipeline(o);
    await p.sft(demos);
    const seen: number[] = [];
    const summaries = await runRounds(p, {
      rounds: 2, comparisonPrompts: [prompts.slice(0, 3), prompts.slice(3)], ppoPrompts: prompts,
      onRound: (s) => { seen.push(s.round); },
    });
    expect(seen).toEqual([1, 2]);
    expect(summaries.map((s) => s.collected.labelled)).toEqual([3, 3]);
    const [r1, r2] = summaries as [typeof summaries[0], typeof summaries[0]];
    expect(r2.rewardTrainRecords).toBeGreaterThan(r1.rewardTrainRecords);
    for (const s of summaries) {
      expect(existsSync(join(s.checkpoint, 'policy/config.json'))).toBe(true);
      expect(existsSync(join(s.checkpoint, 'reward-model/config.json'))).toBe(true);
      const saved = JSON.parse(await readFile(join(s.checkpoint, 'summary.json'), 'utf8'));
      expect(saved.round).toBe(s.round);
      expect(Number.isFinite(s.kl) && Number.isFinite(s.meanReward.last)).toBe(true);
    }
    p.dispose();
    o.policy.dispose();
  });

  it('validates: outDir, fractions, epochs, rounds; stages in the wrong order say what is missing', async () => {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize);
    expect(() => new RlhfPipeline({ policy, tokenizer: tok, outDir: '' })).toThrow(ConfigError);
    expect(() => new RlhfPipeline({ policy, tokenizer: tok, outDir: dir, reward: { heldOutFraction: 0.9 } })).toThrow(/heldOutFraction/);
    expect(() => new RlhfPipeline({ policy, tokenizer: tok, outDir: dir, ppo: { steps: 0 } })).toThrow(/ppo\.steps/);
    const p = new RlhfPipeline({ policy, tokenizer: tok, outDir: join(dir, 'empty') });
    await expect(p.collect(['x'])).rejects.toThrow(RlhfError);
    await expect(p.ppo(['x'])).rejects.toThrow(/trainRewardModel/);
    await expect(runRounds(p, { rounds: 0, comparisonPrompts: [], ppoPrompts: ['x'] })).rejects.toThrow(/rounds/);
    await expect(runRounds(p, { rounds: 2, comparisonPrompts: [['a']], ppoPrompts: ['x'] })).rejects.toThrow(/comparisonPrompts\[1\]/);
    policy.dispose();
  });
});
