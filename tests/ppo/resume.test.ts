import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { PPOTrainer } from '../../src/ppo/ppo-trainer';
import type { RewardSample } from '../../src/ppo/options';
import type { PPOStats } from '../../src/ppo/stats';
import { RewardModel } from '../../src/reward/reward-model';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { FileFormatError } from '../../src/errors';
import { readDirFiles } from '../../src/io/atomic-dir';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors';
import { readPPOCheckpoint } from '../../src/ppo/checkpoint';
import { setupBackend } from '../helpers/backend';
import { recordOps, runKilledAt } from '../io/kill-points';

let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'rlhf-ppo-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const tok = new ByteTokenizer();
const prompts = ['hi', 'say', 'go on', 'well'];
const lower = (s: RewardSample[]) => s.map((x) => x.responseIds.filter((t) => t >= 97 && t <= 122).length / Math.max(1, x.responseIds.length));
const strip = (s: PPOStats) => Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('time/')));

function trainer(valueModel: 'separate' | 'shared') {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
  const ppo = new PPOTrainer({
    policy, reward: lower, tokenizer: tok, learningRate: 1e-3, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2,
    maxNewTokens: 6, klCoef: 0.05, klTarget: 1, klHorizon: 100, seed: 11, valueModel,
  });
  return { policy, ppo };
}

describe('PPO checkpoints', () => {
  for (const kind of ['separate', 'shared'] as const) {
    it(`resuming from a checkpoint gives the same stats as never stopping (${kind} critic)`, async () => {
      const n0 = tf.memory().numTensors;
      const a = trainer(kind);
      const straight = await a.ppo.train(prompts, { steps: 4 });
      const b = trainer(kind);
      await b.ppo.train(prompts, { steps: 2 });
      await b.ppo.save(join(dir, kind));
      const c = await PPOTrainer.load(join(dir, kind), { reward: lower, tokenizer: tok });
      expect(c.progress).toEqual({ step: 2, episode: 8 });
      expect(c.kl.value).toBe(b.ppo.kl.value);
      const resumed = await c.train(prompts, { steps: 2 });
      expect(resumed.map(strip)).toEqual(straight.slice(2).map(strip));
      for (const x of [a, b]) { x.ppo.dispose(); x.policy.dispose(); }
      c.dispose(); // frees the policy, reference and critic it loaded too
      expect(tf.memory().numTensors).toBe(n0);
    });
  }

  it('a checkpoint without trainer.json (crash mid-save) is rejected', async () => {
    const a = trainer('separate');
    await a.ppo.step(prompts);
    await a.ppo.save(join(dir, 'partial'));
    await unlink(join(dir, 'partial', 'trainer.json'));
    await expect(PPOTrainer.load(join(dir, 'partial'), { reward: lower, tokenizer: tok })).rejects.toThrow(FileFormatError);
    a.ppo.dispose();
    a.policy.dispose();
  });

  it('uses a RewardModel as the reward and clones it as the critic', async () => {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
    const rm = RewardModel.fromPolicy(policy);
    const rmBytes = Buffer.from(rm.toSafetensors());
    const ppo = new PPOTrainer({ policy, reward: rm, tokenizer: tok, batchSize: 4, miniBatchSize: 2, maxNewTokens: 5 });
    if (ppo.critic.kind !== 'separate') throw new Error(`critic is ${ppo.critic.kind}, not separate`);
    const critic = ppo.critic.model;
    expect(Buffer.from(critic.toSafetensors()).equals(rmBytes)).toBe(true); // starts as a copy of the reward model
    expect(critic.trainableVariables.some((v) => rm.trainableVariables.includes(v))).toBe(false); // sharing no variable
    const s = await ppo.step(prompts);
    expect(Number.isFinite(s['objective/scores'])).toBe(true);
    expect(Buffer.from(rm.toSafetensors()).equals(rmBytes)).toBe(true); // the reward stays frozen
    expect(Buffer.from(critic.toSafetensors()).equals(rmBytes)).toBe(false); // the critic was trained
    ppo.dispose();
    rm.dispose();
    policy.dispose();
  });

  it('a save killed at any file operation leaves exactly the step-1 or the step-2 checkpoint (loop over kill points)', async () => {
    for (const kind of ['separate', 'shared'] as const) {
      const t = trainer(kind);
      await t.ppo.step(prompts);
      const step1 = join(dir, `kill-${kind}-step1`);
      await t.ppo.save(step1);
      await t.ppo.step(prompts);
      const step2 = join(dir, `kill-${kind}-step2`);
      const ops = await recordOps(() => t.ppo.save(step2));
      const names = ['trainer.json', 'trainer.safetensors', ...['policy', 'ref', 'critic'].flatMap((m) => [`${m}/config.json`, `${m}/model.safetensors`])];
      const snapshot = async (d: string) => [...(await readDirFiles(d, [], names))].map(([k, v]) => `${k}:${Buffer.from(v).toString('base64')}`).sort().join('|');
      const [old, neu] = [await snapshot(step1), await snapshot(step2)];
      expect(old).not.toBe(neu);
      const outcome: number[] = [];
      for (let k = 0; k <= ops.length; k++) {
        const d = join(dir, `kill-${kind}-${k}`);
        await cp(step1, d, { recursive: true });
        await runKilledAt(k, () => t.ppo.save(d));
        const got = await snapshot(d);
        expect(got === old || got === neu, `${kind}: kill before ${ops[k]?.op} ${ops[k]?.path}`).toBe(true);
        const ck = await readPPOCheckpoint(d);
        outcome.push(ck.json.progress.step);
        expect(ck.optimizer.step).toBe(ck.json.progress.step * 2 * 2); // ppoEpochs 2 x 2 minibatches per step: moments match the step
        for (const m of [ck.policy, ck.ref, ck.critic]) m?.dispose();
      }
      expect(outcome[0]).toBe(1);
      expect(outcome.at(-1)).toBe(2);
      t.ppo.dispose();
      t.policy.dispose();
    }
  });

  it('regression: killed after the policy is written but before trainer.json, load gives step 1 with step-1 weights', async () => {
    const t = trainer('separate');
    await t.ppo.step(prompts);
    const d = join(dir, 'issue-scenario');
    await t.ppo.save(d);
    const step1Policy = Buffer.from(t.policy.toSafetensors());
    await t.ppo.step(prompts);
    const ops = await recordOps(() => t.ppo.save(join(dir, 'issue-probe')));
    const policyDone = ops.findIndex((o) => o.op === 'sync' && o.path.endsWith(join('policy', 'model.safetensors')));
    const jsonOpen = ops.findIndex((o) => o.op === 'open' && o.path.endsWith('trainer.json'));
    expect(policyDone).toBeGreaterThanOrEqual(0);
    expect(jsonOpen).toBeGreaterThan(policyDone);
    expect(await runKilledAt(jsonOpen, () => t.ppo.save(d))).toBe(false);
    const c = await PPOTrainer.load(d, { reward: lower, tokenizer: tok });
    expect(c.progress.step).toBe(1);
    expect(Buffer.from(c.policy.toSafetensors()).equals(step1Policy)).toBe(true);
    c.dispose();
    t.ppo.dispose();
    t.policy.dispose();
  });

  it('rejects a trainer.safetensors holding NaN Adam moments with a FileFormatError naming the file and tensor', async () => {
    const t = trainer('shared');
    await t.ppo.step(prompts);
    const d = join(dir, 'nan-moments');
    await t.ppo.save(d);
    const file = join(d, 'trainer.safetensors');
    const { tensors, metadata } = decodeSafetensors(await readFile(file));
    const name = Object.keys(tensors).find((k) => k.startsWith('optimizer.')) as string;
    const data = Float32Array.from((tensors[name] as { data: Float32Array }).data);
    data[0] = Number.NaN;
    await writeFile(file, encodeSafetensors({ ...tensors, [name]: { dtype: 'float32', shape: (tensors[name] as { shape: number[] }).shape, data } }, metadata));
    const err = await PPOTrainer.load(d, { reward: lower, tokenizer: tok }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as FileFormatError).file).toBe(file);
    expect((err as Error).message).toContain(JSON.stringify(name));
    t.ppo.dispose();
    t.policy.dispose();
  });
});
