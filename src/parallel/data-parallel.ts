/**
 * `DataParallel`: what a trainer holds to train on every core. It resolves the `workers` option once
 * (lazily, at the first step), starts the {@link ReplicaPool} on first use, resyncs the workers when
 * the main thread's weights changed between runs, and builds the shards of LM and SFT batches.
 * With one replica it does nothing and the trainer keeps its in-process path.
 * @internal
 * @module
 */
import type { Logger } from '../logging/logger';
import type { PaddedBatch } from '../models/batch';
import type { AdamW } from '../optim/adamw';
import type { Rng } from '../ops/random';
import { checkWorkersOption, resolveWorkerCount, shardRanges, type WorkersOption } from './options';
import { ReplicaPool } from './pool';
import { pairMatrices } from '../reward/pairwise';
import { optimizerStep, type OptimizerStepOptions, type OptimizerStepResult, type StepLossFn } from '../train/step';
import type { ReplicaOptimizerOptions, WorkerMemory } from './protocol';
import { sliceRows, type LMShard, type ReplicaModel, type RewardShard, type SFTShard, type ShardTask } from './tasks';

/** Options of {@link DataParallel}. */
export interface DataParallelOptions {
  /** The option's name in errors, e.g. `"SFTTrainerOptions.workers"`. */
  param: string;
  /** The trainer's `workers` option (validated here; `undefined` reads `TFJS_RLHF_WORKERS`, else `'auto'`). */
  workers: WorkersOption | undefined;
  /** Rows of a full batch: `'auto'` never uses more replicas than this. */
  batchRows: number;
  /** The main thread's model. */
  model: ReplicaModel;
  /** Its optimizer. */
  opt: AdamW;
  /** The optimizer's hyperparameters (without a decay mask). */
  optimizerOptions: Omit<ReplicaOptimizerOptions, 'decayFlags'>;
  /** Compare replica weight checksums after every step. */
  checkReplicas: boolean;
  /** Receives lifecycle messages. */
  logger: Logger;
}

/** A trainer's view of data-parallel training. */
export class DataParallel {
  /** The validated option. */
  readonly option: WorkersOption;
  private count: number | undefined;
  private pool: ReplicaPool | undefined;

  /** Validates the option (throws `ConfigError` naming `o.param`); starts nothing. */
  constructor(private readonly o: DataParallelOptions) {
    this.option = checkWorkersOption(o.param, o.workers);
  }

  /** Replicas a step uses (1 = in-process); resolved once, at the first call. */
  async replicas(): Promise<number> {
    this.count ??= await resolveWorkerCount(this.o.param, this.option, this.o.batchRows);
    return this.count;
  }

  /** The pool when more than one replica is used, after resyncing it if the main weights changed. */
  async begin(): Promise<ReplicaPool | undefined> {
    const n = await this.replicas();
    if (n <= 1) return undefined;
    this.pool ??= new ReplicaPool({
      replicas: n, model: this.o.model, opt: this.o.opt, optimizerOptions: this.o.optimizerOptions,
      checkReplicas: this.o.checkReplicas, logger: this.o.logger,
    });
    await this.pool.refresh();
    return this.pool;
  }

  /** Marks the end of a run of steps (see {@link ReplicaPool.endRun}). */
  end(): void {
    this.pool?.endRun();
  }

  /**
   * One optimisation step: in-process through {@link optimizerStep} with `lossFn` when one replica is
   * used, else across the pool with `shards(replicas)` (one shard per replica, the main thread's first).
   * Same result either way up to float summation order.
   */
  async step(lossFn: StepLossFn, shards: (replicas: number) => ShardTask[], o: OptimizerStepOptions): Promise<OptimizerStepResult> {
    const pool = this.pool ?? (await this.begin());
    if (pool === undefined) return optimizerStep(this.o.opt, lossFn, o);
    return pool.step(shards(pool.replicas), o);
  }

  /** Memory of each worker thread (empty when none runs). */
  async workerMemory(): Promise<WorkerMemory[]> {
    return this.pool?.started === true ? this.pool.memory() : [];
  }

  /** Ends the worker threads (a later step starts them again); never throws. */
  async dispose(): Promise<void> {
    await this.pool?.dispose().catch(() => undefined);
  }
}

/** A seed for the shards' dropout streams, drawn from `rng` only when the model uses dropout. */
export function dropoutSeed(dropout: number, rng: Rng): number | null {
  return dropout > 0 ? rng.nextUint32() : null;
}

/** Seed of shard `i` given the step's seed. */
export function shardSeed(seed: number | null, i: number): number | null {
  return seed === null ? null : (seed + i * 0x9e3779b9) >>> 0;
}

/** LM shards of `batch` (loss = mean next-token NLL over every token of the whole batch). */
export function lmShards(batch: PaddedBatch, n: number, seed: number | null): LMShard[] {
  const scale = 1 / (batch.batch * (batch.length - 1));
  return shardRanges(batch.batch, n).map(([a, b], i) => ({ kind: 'lm', batch: sliceRows(batch, a, b), scale, dropoutSeed: shardSeed(seed, i) }));
}

/** SFT shards of a batch with its `[B * (T - 1)]` loss mask and target count. */
export function sftShards(batch: PaddedBatch, lossMask: Float32Array, tokens: number, n: number, seed: number | null): SFTShard[] {
  const W = batch.length - 1;
  return shardRanges(batch.batch, n).map(([a, b], i) => ({
    kind: 'sft', batch: sliceRows(batch, a, b), lossMask: lossMask.slice(a * W, b * W), scale: 1 / tokens, dropoutSeed: shardSeed(seed, i),
  }));
}

/** A prompt group of a reward batch: its response rows (consecutive in the batch) and its pairs. */
export interface RewardGroupRows {
  /** Rows (responses) of the group. */
  rows: number;
  /** `[chosen, rejected]` row indices within the group. */
  pairs: readonly (readonly [number, number])[];
}

/**
 * Reward-model shards of a batch whose rows are the groups' responses in order: whole prompt groups
 * per shard, each pair weighted `1 / (pairs of its group * groups in the batch)`.
 */
export function rewardShards(
  batch: PaddedBatch,
  groups: readonly RewardGroupRows[],
  n: number,
  o: { margin: number; centerCoef: number; seed: number | null },
): RewardShard[] {
  const starts = [0];
  for (const g of groups) starts.push((starts[starts.length - 1] as number) + g.rows);
  return shardRanges(groups.length, n).map(([ga, gb], i) => {
    const r0 = starts[ga] as number;
    const N = (starts[gb] as number) - r0;
    const { diff, sum, weight, nPairs: P } = pairMatrices(groups.slice(ga, gb), groups.length);
    return {
      kind: 'reward', batch: sliceRows(batch, r0, r0 + N), diff, sum, weight, pairs: P,
      margin: o.margin, centerCoef: o.centerCoef, dropoutSeed: shardSeed(o.seed, i),
    };
  });
}
