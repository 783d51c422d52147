/**
 * `DPOTrainer`: Direct Preference Optimization (Rafailov et al. 2023) on the comparisons a reward
 * model would be trained on — pairs, K-way rankings with ties, chat pairs — with no reward model and
 * no sampling: the policy's log-ratio to a frozen reference is the implicit reward.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { Logger } from '../logging/logger';
import { TransformerPolicy } from '../models/policy';
import { checkInteger } from '../ops/validate';
import { Rng, type RngState } from '../ops/random';
import { AdamW } from '../optim/adamw';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { DataParallel } from '../parallel/data-parallel';
import type { WorkerMemory } from '../parallel/protocol';
import type { WorkersOption } from '../parallel/options';
import { dpoShards } from './shards';
import { readTrainerFolder, TRAINER_FOLDER_FORMAT, writeTrainerFolder } from '../train/trainer-folder';
import { encodePreferences, type EncodedPreference, type PreferenceRecord } from './data';
import { batchRows, dpoBatchLoss, sequenceLogps } from './forward';
import { resolveDPOOptions, type DPOTrainerOptions, type ResolvedDPOOptions } from './options';
import { dpoStats, type DPOStats, type DPOStepStats, type PairValues } from './stats';

/** Options of {@link DPOTrainer.train}. */
export interface DPOTrainOptions {
  /** Passes over the data. Default `1`. */
  epochs?: number;
  /** Called after every step. */
  onStep?: (stats: DPOStepStats) => void | Promise<void>;
}

/** What {@link DPOTrainer.load} needs besides the checkpoint. */
export interface DPOLoadOptions {
  /** The tokenizer (not stored in checkpoints). */
  tokenizer: Tokenizer;
  /** Logger. Default: silent. */
  logger?: Logger;
  /** Replicas (see `DPOTrainerOptions.workers`); a run resumes on any count. Default: the saved option. */
  workers?: WorkersOption;
}

/** Counters a checkpoint restores. */
export interface DPOProgress {
  /** Optimizer steps taken. */
  step: number;
  /** Epochs completed. */
  epoch: number;
}

interface DPOTrainerJson {
  kind: 'dpo';
  format: number;
  progress: DPOProgress;
  rng: RngState;
  options: Omit<ResolvedDPOOptions, 'logger'>;
  refCache?: [string, number][];
  [key: string]: unknown;
}

const keyOf = (prompt: readonly number[], response: readonly number[]) => `${prompt.join(',')}|${response.join(',')}`;

/** Trains a policy directly on preferences with DPO (or IPO, hinge, robust, cDPO, listwise Plackett-Luce). */
export class DPOTrainer {
  /** The policy being trained. */
  readonly policy: TransformerPolicy;
  /** The frozen reference (absent with `precomputeRefLogProbs`). */
  readonly ref: TransformerPolicy | undefined;
  /** The tokenizer. */
  readonly tokenizer: Tokenizer;
  /** Resolved options. */
  readonly options: ResolvedDPOOptions;
  /** The optimizer over the policy's variables. */
  readonly optimizer: AdamW;
  /** Shuffling randomness (saved in checkpoints). */
  readonly rng: Rng;
  /** Steps and epochs so far. */
  progress: DPOProgress = { step: 0, epoch: 0 };
  private readonly refCache = new Map<string, number>();
  private readonly owned: { dispose(): void }[] = [];
  private readonly parallel: DataParallel;

  /** Validates options (throws {@link ConfigError}), clones the reference and creates the optimizer. */
  constructor(options: DPOTrainerOptions) {
    this.options = resolveDPOOptions(options);
    this.policy = options.policy;
    this.tokenizer = options.tokenizer;
    this.ref = this.options.precomputeRefLogProbs ? undefined : (options.ref ?? this.own(options.policy.clone()));
    const adam = { learningRate: this.options.learningRate, weightDecay: this.options.weightDecay };
    this.optimizer = new AdamW(this.policy.trainableVariables, adam);
    this.rng = new Rng(this.options.seed);
    this.parallel = new DataParallel({
      param: 'DPOTrainerOptions.workers', workers: this.options.workers, batchRows: this.options.batchSize, model: { kind: 'policy', policy: this.policy },
      opt: this.optimizer, optimizerOptions: adam, checkReplicas: false, logger: this.options.logger,
    });
  }

  private own<T extends { dispose(): void }>(x: T): T {
    this.owned.push(x);
    return x;
  }

  private encode(data: readonly PreferenceRecord[]): EncodedPreference[] {
    const o = this.options;
    return encodePreferences(data, { tokenizer: this.tokenizer, appendEos: o.appendEos, contextLength: this.policy.config.contextLength, truncatePrompt: o.truncatePrompt });
  }

  /**
   * Computes and caches the reference log-probs of `data`. Needed only with `precomputeRefLogProbs`,
   * for data first seen after the first update (e.g. an evaluation set): call it before training.
   * @throws {@link InputError} when the policy has already been updated and there is no reference model.
   */
  async precomputeReference(data: readonly PreferenceRecord[]): Promise<void> {
    const groups = this.encode(data);
    for (let i = 0; i < groups.length; i += this.options.batchSize) await this.ensureReference(groups.slice(i, i + this.options.batchSize));
  }

  /** Reference log-probs `[N]` of a batch's rows, computing (and caching) any that are missing. */
  private async ensureReference(batch: readonly EncodedPreference[]): Promise<Float32Array> {
    const { prompts, responses } = batchRows(batch);
    const keys = prompts.map((p, n) => keyOf(p, responses[n] as number[]));
    if (keys.some((k) => !this.refCache.has(k))) {
      const model = this.ref ?? this.policy;
      if (this.ref === undefined && this.progress.step > 0) {
        throw new InputError(`data[${batch[0]?.record ?? 0}]`, 'no cached reference log-probs', 'the policy has been updated and there is no reference model: call precomputeReference(data) before training');
      }
      const t = tf.tidy(() => sequenceLogps(model, prompts, responses, this.tokenizer.padId));
      const v = await t.data();
      t.dispose();
      keys.forEach((k, n) => { if (!this.refCache.has(k)) this.refCache.set(k, v[n] as number); });
    }
    return Float32Array.from(keys, (k) => this.refCache.get(k) as number);
  }

  private batches(groups: EncodedPreference[], shuffle: boolean): EncodedPreference[][] {
    const order = groups.map((_, i) => i);
    if (shuffle) this.rng.shuffle(order);
    const out: EncodedPreference[][] = [];
    for (let i = 0; i < order.length; i += this.options.batchSize) out.push(order.slice(i, i + this.options.batchSize).map((k) => groups[k] as EncodedPreference));
    return out;
  }

  /** Trains on preference records; returns the per-step history (stats under TRL's names). */
  async train(data: readonly PreferenceRecord[], options: DPOTrainOptions = {}): Promise<DPOStepStats[]> {
    const epochs = checkInteger('epochs', options.epochs ?? 1, 1);
    const groups = this.encode(data);
    const o = this.options;
    if (this.ref === undefined && this.progress.step === 0) await this.precomputeReference(data);
    const history: DPOStepStats[] = [];
    const total = epochs * Math.ceil(groups.length / o.batchSize);
    await this.parallel.begin(); // starts the worker replicas (first call) or resyncs them
    try {
      for (let e = 1; e <= epochs; e++) await this.epoch(groups, history, total, options);
    } finally {
      this.parallel.end();
    }
    return history;
  }

  /** One pass over `groups` in a fresh shuffle, one optimizer step per batch (in-process or across the replicas). */
  private async epoch(groups: EncodedPreference[], history: DPOStepStats[], total: number, options: DPOTrainOptions): Promise<void> {
    const o = this.options;
    for (const batch of this.batches(groups, true)) {
      const ref = await this.ensureReference(batch);
      const r = await this.parallel.step(() => {
        const { prompts, responses, offsets } = batchRows(batch);
        return dpoBatchLoss(sequenceLogps(this.policy, prompts, responses, this.tokenizer.padId), ref, batch, offsets, o);
      }, (n) => dpoShards(batch, ref, n, this.tokenizer.padId, o), {
        maxGradNorm: o.maxGradNorm, learningRate: o.learningRate, where: `DPOTrainer step ${this.progress.step + 1}`,
      });
      this.progress = { ...this.progress, step: this.progress.step + 1 };
      const stats: DPOStepStats = {
        ...dpoStats(r.loss, r.metrics as unknown as PairValues),
        step: this.progress.step, epoch: this.progress.epoch + 1, learning_rate: o.learningRate, grad_norm: r.gradNorm,
      };
      history.push(stats);
      o.logger.log('info', 'dpo step', { ...stats });
      o.logger.progress?.({ task: 'dpo', done: history.length, total, unit: 'step', info: { loss: stats.loss, acc: stats['rewards/accuracies'] } });
      await options.onStep?.(stats);
    }
    this.progress = { ...this.progress, epoch: this.progress.epoch + 1 };
  }

  /** Memory of each worker thread (empty when none runs). */
  async workerMemory(): Promise<WorkerMemory[]> {
    return this.parallel.workerMemory();
  }

  /** Loss and reward metrics over preference records (no update, no dropout). */
  async evaluate(data: readonly PreferenceRecord[]): Promise<DPOStats> {
    const groups = this.encode(data);
    const values: PairValues = { chosen: [], rejected: [], logpChosen: [], logpRejected: [] };
    let lossSum = 0;
    for (const batch of this.batches(groups, false)) {
      const ref = await this.ensureReference(batch);
      const out = tf.tidy(() => {
        const { prompts, responses, offsets } = batchRows(batch);
        const f = dpoBatchLoss(sequenceLogps(this.policy, prompts, responses, this.tokenizer.padId), ref, batch, offsets, this.options);
        return [f.loss, f.metrics.chosen, f.metrics.rejected, f.metrics.logpChosen, f.metrics.logpRejected] as tf.Tensor[];
      });
      const [l, ...m] = await Promise.all(out.map((t) => t.data()));
      tf.dispose(out);
      lossSum += (l?.[0] as number) * batch.length;
      (['chosen', 'rejected', 'logpChosen', 'logpRejected'] as const).forEach((k, i) => values[k].push(...Array.from(m[i] ?? [])));
    }
    return dpoStats(lossSum / groups.length, values);
  }

  /** Saves `policy/`, `ref/` (when there is one), the Adam moments, RNG state, counters and options, atomically as a whole. */
  async save(dir: string): Promise<void> {
    const { logger: _l, ...options } = this.options;
    const json: DPOTrainerJson = {
      kind: 'dpo', format: TRAINER_FOLDER_FORMAT, progress: { ...this.progress }, rng: this.rng.getState(), options,
      ...(this.ref === undefined ? { refCache: [...this.refCache.entries()] } : {}),
    };
    await writeTrainerFolder(dir, { json, policy: this.policy, ...(this.ref ? { ref: this.ref } : {}), optimizer: this.optimizer.exportState() });
  }

  /** Restores a trainer saved by {@link DPOTrainer.save}; training continues exactly where it stopped. */
  static async load(dir: string, with_: DPOLoadOptions): Promise<DPOTrainer> {
    const c = await readTrainerFolder<DPOTrainerJson>(dir, 'dpo');
    const trainer = new DPOTrainer({
      ...c.json.options, policy: c.policy, tokenizer: with_.tokenizer, ...(c.ref ? { ref: c.ref } : {}),
      ...(with_.logger ? { logger: with_.logger } : {}), ...(with_.workers !== undefined ? { workers: with_.workers } : {}),
    });
    trainer.owned.push(c.policy, ...(c.ref ? [c.ref] : []));
    trainer.optimizer.importState(c.optimizer);
    trainer.rng.setState(c.json.rng);
    trainer.progress = { ...c.json.progress };
    for (const [k, v] of c.json.refCache ?? []) trainer.refCache.set(k, v);
    return trainer;
  }

  /** Frees what the trainer created or loaded (reference clone, optimizer moments, loaded models); not the caller's policy. */
  dispose(): void {
    void this.parallel.dispose();
    this.optimizer.dispose();
    for (const x of this.owned) x.dispose();
  }
}
