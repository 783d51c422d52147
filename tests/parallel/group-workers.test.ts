// GRPOTrainer and RLOOTrainer with `workers`: each minibatch's completions split between the main thread and
// a worker replica, the shard losses scaled by their share of the aggregation (rows or tokens), gradients
// summed. Same seed, same stats and weights as `workers: 1` up to float summation order, for every loss
// aggregation and uneven minibatches; no leaks in the main thread or the worker; resume on another count.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { GRPOTrainer, RLOOTrainer } from '../../src/grpo/grpo-trainer';
import type { GRPOStats } from '../../src/grpo/stats';
import type { ColumnRewardSample } from '../../src/rewards/rewards';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { setupBackend } from '../helpers/backend';

beforeAll(setupBackend);
const tok = new ByteTokenizer();
const prompts = ['hi', 'say', 'go on', 'well', 'ok then', 'and', 'so', 'yes'];
const lowercase = (samples: ColumnRewardSample[]) => samples.map((s) => s.responseIds.filter((t) => t >= 97 && t <= 122).length / Math.max(1, s.responseIds.length));
const disposers: (() => void)[] = [];
afterEach(() => disposers.splice(0).forEach((d) => d()));

// 4 prompts x 4 completions = 16 rows in minibatches of 6, 6 and 4: uneven shards. Any lowercase letter
// stops a completion, so lengths vary and the token-mean aggregations differ from row means.
const stopTokens = Array.from({ length: 26 }, (_, i) => 97 + i);
const settings = { tokenizer: tok, reward: lowercase, learningRate: 3e-3, batchSize: 4, numGenerations: 4, miniBatchSize: 6, numIterations: 2, maxNewTokens: 8, seed: 5, beta: 0.04, stopTokens };
const KEYS = ['reward', 'kl', 'entropy', 'loss', 'grad_norm', 'clip_ratio/region_mean'] as const;

function make(Kind: typeof GRPOTrainer | typeof RLOOTrainer, workers: number, over: Record<string, unknown> = {}) {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
  const t = new Kind({ policy, ...settings, workers, ...over });
  disposers.push(() => { t.dispose(); policy.dispose(); });
  return t;
}

const weights = (t: GRPOTrainer | RLOOTrainer) => t.optimizer.variables.map((v) => Array.from(v.dataSync()));
function expectClose(a: GRPOStats[], b: GRPOStats[]): void {
  expect(a).toHaveLength(b.length);
  a.forEach((s, i) => KEYS.forEach((k) => {
    const x = s[k] as number;
    const y = (b[i] as GRPOStats)[k] as number;
    expect(Math.abs(x - y), `step ${i + 1} ${k}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(y)));
  }));
}
function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((x, j) => { m = Math.max(m, Math.abs(x - (b[i]?.[j] as number))); }));
  return m;
}

describe('GRPO and RLOO with workers: 2', () => {
  for (const [name, Kind, over] of [
    ['GRPO, dapo (token mean)', GRPOTrainer, {}], ['GRPO, grpo (sequence mean)', GRPOTrainer, { lossType: 'grpo' }],
    ['GRPO, dr_grpo', GRPOTrainer, { lossType: 'dr_grpo', scaleRewards: 'none' }], ['RLOO', RLOOTrainer, {}],
  ] as const) {
    it(`${name}: matches workers: 1, no leaks here or in the worker`, async () => {
      const one = make(Kind, 1, over);
      const h1 = await one.train(prompts, { steps: 3 });
      const two = make(Kind, 2, over);
      const first = await two.train(prompts, { steps: 1 });
      const before = tf.memory().numTensors;
      const mem0 = await two.workerMemory();
      const rest = await two.train(prompts, { steps: 2 });
      expect(tf.memory().numTensors).toBe(before);
      expect(mem0).toHaveLength(1);
      expect((await two.workerMemory()).map((m) => m.numTensors)).toEqual(mem0.map((m) => m.numTensors));
      expectClose([...first, ...rest], h1);
      // Adam divides by sqrt(v): a float-rounding difference in a tiny gradient moves a weight by up to ~lr
      // times it, over 18 updates at lr 3e-3 (each weight can move up to ~0.05 in all).
      expect(maxDiff(weights(two), weights(one))).toBeLessThan(1e-4);
    });
  }

  it('resumes on another worker count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grpo-workers-'));
    disposers.push(() => rmSync(dir, { recursive: true, force: true }));
    const ref = make(GRPOTrainer, 1);
    const h = await ref.train(prompts, { steps: 3 });
    const a = make(GRPOTrainer, 2);
    const h2 = await a.train(prompts, { steps: 2 });
    await a.save(dir);
    const b = await GRPOTrainer.load(dir, { reward: lowercase, tokenizer: tok, workers: 1 });
    disposers.push(() => b.dispose());
    expectClose([...h2, ...(await b.train(prompts, { steps: 1 }))], h);
  });
});
