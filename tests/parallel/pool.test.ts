// The data-parallel engine on its own: a 2-replica step against the same step in-process, worker
// failures as typed errors with no partial update, and no tensor leaks in the main thread or workers.
// Workers run the built bundle (dist/worker.js, built by the global setup).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { WorkerError } from '../../src/errors';
import { TransformerPolicy } from '../../src/models/policy';
import { AdamW } from '../../src/optim/adamw';
import { optimizerStep } from '../../src/train/step';
import { ReplicaPool } from '../../src/parallel/pool';
import { shardRanges } from '../../src/parallel/options';
import { shardLoss, sliceRows, type LMShard, type RewardShard } from '../../src/parallel/tasks';
import { rewardShards } from '../../src/parallel/data-parallel';
import { RewardModel } from '../../src/reward/reward-model';
import { presetConfig } from '../../src/models/config';
import { weightsChecksum } from '../../src/parallel/replica';
import type { PaddedBatch } from '../../src/models/batch';
import { Rng } from '../../src/ops/random';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);

const V = 40;
const OPT = { learningRate: 3e-3, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8 };

function batchOf(seed: number, rows: number, length: number): PaddedBatch {
  const rng = new Rng(seed);
  const ids = new Int32Array(rows * length).map(() => rng.int(V));
  return { ids, mask: new Int32Array(rows * length).fill(1), batch: rows, length };
}

function lmShards(batch: PaddedBatch, n: number): LMShard[] {
  const scale = 1 / (batch.batch * (batch.length - 1));
  return shardRanges(batch.batch, n).map(([a, b]) => ({ kind: 'lm', batch: sliceRows(batch, a, b), scale, dropoutSeed: null }));
}

function setup(seed = 3): { policy: TransformerPolicy; opt: AdamW } {
  const policy = TransformerPolicy.fromPreset('tiny', V, { seed });
  return { policy, opt: new AdamW(policy.trainableVariables, OPT) };
}

const pools: ReplicaPool[] = [];
function poolFor(s: { policy: TransformerPolicy; opt: AdamW }, replicas = 2, checkReplicas = true): ReplicaPool {
  const pool = new ReplicaPool({ replicas, model: { kind: 'policy', policy: s.policy }, opt: s.opt, optimizerOptions: OPT, checkReplicas });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.dispose()));
});

describe('ReplicaPool', () => {
  it('matches the in-process step to float summation order, with replicas in sync and no leaks', async () => {
    const a = setup();
    const b = setup();
    const pool = poolFor(b, 2);
    const lossesA: number[] = [];
    const lossesB: number[] = [];
    for (let step = 0; step < 6; step++) {
      const batch = batchOf(100 + step, 5, 12); // 5 rows: uneven shards (2 + 3)
      const [whole] = lmShards(batch, 1);
      const ra = await optimizerStep(a.opt, () => shardLoss({ kind: 'policy', policy: a.policy }, whole as LMShard), { maxGradNorm: 0.5, learningRate: 3e-3, where: 'a' });
      lossesA.push(ra.loss);
      const before = tf.memory().numTensors;
      const rb = await pool.step(lmShards(batch, 2), { maxGradNorm: 0.5, learningRate: 3e-3, where: 'b' }); // checkReplicas: drift would throw
      if (step > 0) expect(tf.memory().numTensors).toBe(before); // the first step creates the moments
      lossesB.push(rb.loss);
      expect(rb.gradNorm).toBeCloseTo(ra.gradNorm, 4);
    }
    lossesB.forEach((l, i) => expect(Math.abs(l - (lossesA[i] as number)) / Math.abs(lossesA[i] as number)).toBeLessThan(1e-5));
    const wa = a.policy.trainableVariables.map((v) => v.dataSync());
    b.policy.trainableVariables.forEach((v, i) => {
      const x = v.dataSync();
      const y = wa[i] as Float32Array;
      let worst = 0;
      for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs((x[j] as number) - (y[j] as number)));
      // Adam divides each coordinate's step by its own gradient scale, so where a gradient is near zero its
      // summation-order noise becomes a visible share of a step: 1.4e-5 at worst here after 6 steps at lr 3e-3
      // (one coordinate of h.0.mlp.c_proj.weight; 4.6e-6 with the TypeScript kernels, which sum in float64).
      expect(worst).toBeLessThan(5e-5);
    });
    const mem = await pool.memory();
    expect(mem).toHaveLength(1);
    const settled = mem[0]!.numTensors;
    await pool.step(lmShards(batchOf(7, 4, 12), 2), { maxGradNorm: 1, learningRate: 1e-3, where: 'b' });
    expect((await pool.memory())[0]!.numTensors).toBe(settled); // no leak in the worker either
    expect(mem[0]!.backendBytes).toBeGreaterThan(0);
  });

  it('gives an empty shard zero gradient (batch smaller than the replicas)', async () => {
    const a = setup(4);
    const b = setup(4);
    const pool = poolFor(b, 3);
    const batch = batchOf(5, 2, 10);
    const ra = await optimizerStep(a.opt, () => shardLoss({ kind: 'policy', policy: a.policy }, lmShards(batch, 1)[0] as LMShard), { maxGradNorm: Infinity, learningRate: 3e-3, where: 'a' });
    const shards = lmShards(batch, 3); // shard 0 is empty: floor(0*2/3)..floor(2/3)
    expect(shards[0]!.batch.batch).toBe(0);
    const rb = await pool.step(shards, { maxGradNorm: Infinity, learningRate: 3e-3, where: 'b' });
    expect(Math.abs(rb.loss - ra.loss) / ra.loss).toBeLessThan(1e-5);
  });

  it('trains a reward model on whole prompt groups per shard, metrics concatenated in order', async () => {
    const make = (): { model: RewardModel; opt: AdamW } => {
      const model = new RewardModel(presetConfig('tiny', V, { seed: 8 }));
      return { model, opt: new AdamW(model.trainableVariables, OPT) };
    };
    const a = make();
    const b = make();
    const pool = new ReplicaPool({ replicas: 2, model: { kind: 'reward', model: b.model }, opt: b.opt, optimizerOptions: OPT, checkReplicas: true });
    pools.push(pool);
    // 3 prompt groups: 2, 3 and 2 responses; pairs within each group.
    const groups = [{ rows: 2, pairs: [[0, 1]] as const }, { rows: 3, pairs: [[0, 1], [0, 2], [1, 2]] as const }, { rows: 2, pairs: [[1, 0]] as const }];
    const o = { margin: 0.1, centerCoef: 0.01, seed: null };
    for (let step = 0; step < 3; step++) {
      const batch = batchOf(50 + step, 7, 9);
      const ra = await optimizerStep(a.opt, () => shardLoss({ kind: 'reward', model: a.model }, rewardShards(batch, groups, 1, o)[0] as RewardShard), { maxGradNorm: 1, learningRate: 1e-3, where: 'a' });
      const rb = await pool.step(rewardShards(batch, groups, 2, o), { maxGradNorm: 1, learningRate: 1e-3, where: 'b' });
      expect(Math.abs(rb.loss - ra.loss) / ra.loss).toBeLessThan(1e-5);
      expect(rb.metrics.d).toHaveLength(5);
      rb.metrics.d!.forEach((x, i) => expect(x).toBeCloseTo(ra.metrics.d![i]!, 4));
      rb.metrics.s!.forEach((x, i) => expect(x).toBeCloseTo(ra.metrics.s![i]!, 4));
    }
    a.opt.dispose(); b.opt.dispose(); a.model.dispose(); b.model.dispose();
  });

  for (const how of ['throw', 'exit'] as const) {
    it(`turns a worker that ${how === 'throw' ? 'throws' : 'dies'} mid-step into a WorkerError with no partial update`, async () => {
      const s = setup(6);
      const pool = poolFor(s, 2);
      await pool.step(lmShards(batchOf(1, 4, 10), 2), { maxGradNorm: 1, learningRate: 1e-3, where: 'ok' });
      const sum = weightsChecksum(s.policy.trainableVariables);
      const optStep = s.opt.step;
      await pool.injectFault(1, how);
      const err = await expectNoLeaks(() => pool.step(lmShards(batchOf(2, 4, 10), 2), { maxGradNorm: 1, learningRate: 1e-3, where: 'bad' }).then(() => null, (e: unknown) => e));
      expect(err).toBeInstanceOf(WorkerError);
      const we = err as WorkerError;
      expect(we.worker).toBe(1);
      expect(we.failure).toBe(how === 'throw' ? 'error' : 'exit');
      if (how === 'throw') expect(we.workerStack).toMatch(/injected fault[\s\S]*dist\/worker\.js/);
      expect(weightsChecksum(s.policy.trainableVariables)).toBe(sum); // the main replica did not move
      expect(s.opt.step).toBe(optStep);
      expect(pool.started).toBe(false); // shut down; the next step starts a fresh pool from the main weights
      const r = await pool.step(lmShards(batchOf(3, 4, 10), 2), { maxGradNorm: 1, learningRate: 1e-3, where: 'again' });
      expect(Number.isFinite(r.loss)).toBe(true);
    });
  }
});
