// PPOTrainer with `workers: 2`: the separate critic and the reward model run in a worker thread beside
// the policy. Same seed, same result as `workers: 1` up to float summation order (the clip's global norm
// is summed from two partial sums, in float64): stats agree to 1e-4 relative over 3 steps and weights to
// 1e-5; no leaks in the main thread or the worker; a worker that dies fails the step with a WorkerError
// and no partial update; a run resumes on another worker count.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { RewardModel } from '../../src/reward/reward-model';
import { PPOTrainer } from '../../src/ppo/ppo-trainer';
import type { PPOStats } from '../../src/ppo/stats';
import type { CriticWorker } from '../../src/parallel/critic-client';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { WorkerError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';

beforeAll(setupBackend);

const tok = new ByteTokenizer();
const prompts = ['hi', 'say', 'go on', 'well', 'ok then', 'and', 'so', 'yes'];
const KEYS = ['objective/scores', 'objective/kl', 'loss/policy_avg', 'loss/value_avg', 'policy/approxkl_avg', 'policy/entropy_avg', 'val/clipfrac_avg'] as const;
const disposers: (() => void)[] = [];
afterEach(() => disposers.splice(0).forEach((d) => d()));

function make(workers: number, policy?: TransformerPolicy, reward?: RewardModel) {
  const p = policy ?? TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
  const rm = reward ?? RewardModel.fromPolicy(p, { headSeed: 7 });
  const t = new PPOTrainer({
    policy: p, reward: rm, tokenizer: tok, learningRate: 3e-3, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2,
    maxNewTokens: 6, klCoef: 0.05, seed: 5, workers, missingEosPenalty: 0.5,
  });
  disposers.push(() => { t.dispose(); p.dispose(); rm.dispose(); });
  return { p, rm, t };
}

const weights = (vars: readonly tf.Variable[]) => vars.map((v) => Array.from(v.dataSync()));
function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((x, j) => { m = Math.max(m, Math.abs(x - (b[i]?.[j] as number))); }));
  return m;
}
function expectStatsClose(a: PPOStats[], b: PPOStats[]): void {
  expect(a).toHaveLength(b.length);
  a.forEach((s, i) => KEYS.forEach((k) => {
    const x = s[k];
    const y = (b[i] as PPOStats)[k];
    expect(Math.abs(x - y), `step ${i + 1} ${k}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(y)));
  }));
}

describe('PPOTrainer with workers: 2', () => {
  it('matches workers: 1 (stats and weights), with no leaks in the main thread or the worker', async () => {
    const one = make(1);
    const h1 = await one.t.train(prompts, { steps: 3 });
    const two = make(2);
    const first = await two.t.train(prompts, { steps: 1 }); // starts the worker, creates the moments
    const before = tf.memory().numTensors;
    const mem0 = await two.t.workerMemory();
    const rest = await two.t.train(prompts, { steps: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const mem1 = await two.t.workerMemory();
    expect(mem0).toHaveLength(1);
    expect(mem1.map((m) => m.numTensors)).toEqual(mem0.map((m) => m.numTensors));
    expect(await one.t.workerMemory()).toEqual([]);
    expectStatsClose([...first, ...rest], h1);
    expect(h1[0]!['loss/value_avg']).toBeGreaterThan(0); // the value loss is really there to compare
    expect(maxDiff(weights(two.t.optimizer.variables), weights(one.t.optimizer.variables))).toBeLessThan(1e-5);
    expect(two.t.optimizer.step).toBe(one.t.optimizer.step);
    const [a, b] = [one.t.optimizer.exportState(), two.t.optimizer.exportState()];
    const last = one.t.optimizer.variables.length - 1; // a critic variable: its moments came back from the worker
    expect(maxDiff([Array.from(b.tensors[`v.${last}`]!.data)], [Array.from(a.tensors[`v.${last}`]!.data)])).toBeLessThan(1e-6);
  });

  it('a worker that dies fails the step with a WorkerError and no partial update; the next step starts a fresh worker', async () => {
    const { t } = make(2);
    await t.step(prompts.slice(0, 4));
    const w0 = weights(t.optimizer.variables);
    const step0 = t.optimizer.step;
    const cw = (t as unknown as { cw: CriticWorker }).cw;
    await cw.injectFault('exit');
    const err = await t.step(prompts.slice(4, 8)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect(t.optimizer.step).toBe(step0);
    expect(maxDiff(weights(t.optimizer.variables), w0)).toBe(0);
    const s = await t.step(prompts.slice(4, 8));
    expect(Number.isFinite(s['loss/value_avg'])).toBe(true);
    expect(t.optimizer.step).toBe(step0 + 4);
  });

  it('a reward model changed between steps (here its normalisation) reaches the worker, as in-process', async () => {
    const runs = await Promise.all([1, 2].map(async (w) => {
      const { rm, t } = make(w);
      const a = await t.step(prompts.slice(0, 4));
      rm.setNormalization({ gain: 3, bias: 2 });
      const b = await t.step(prompts.slice(4, 8));
      return [a, b];
    }));
    expectStatsClose(runs[1] as PPOStats[], runs[0] as PPOStats[]);
    // Discriminating: had the worker kept its first copy (gain 1, bias 0), step 2's scores would differ by ~2 + 2 x raw.
  });

  it('resumes on another worker count: 2 steps on 2 threads + 1 on 1 = 3 on 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ppo-workers-'));
    disposers.push(() => rmSync(dir, { recursive: true, force: true }));
    const ref = make(1);
    const h = await ref.t.train(prompts, { steps: 3 });
    const a = make(2);
    const h2 = await a.t.train(prompts, { steps: 2 });
    await a.t.save(dir);
    const b = await PPOTrainer.load(dir, { reward: a.rm, tokenizer: tok, workers: 1 });
    disposers.push(() => b.dispose());
    const h3 = await b.train(prompts, { steps: 1 });
    expectStatsClose([...h2, ...h3], h);
    expect(maxDiff(weights(b.optimizer.variables), weights(ref.t.optimizer.variables))).toBeLessThan(1e-5);
  });
});
