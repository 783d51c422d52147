/**
 * `RewardTrainer`: fits a {@link RewardModel} to human (or simulated) comparisons with the pairwise
 * Bradley-Terry loss. Pairs and K-way rankings can be mixed; all comparisons of one prompt go into the
 * same batch (InstructGPT), each response is scored once per batch, and each record's pairs are
 * weighted `1 / (its pair count)` so a ranking with many pairs does not dominate. A record with
 * `messages` (a conversation) is scored as the conversation rendered with the chat template SFT uses
 * (`tokenizeChatPrompt`: turns, then the open `<|assistant|>\n` header) followed by each reply; plain
 * and conversation records mix freely.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { Logger } from '../logging/logger';
import { Rng } from '../ops/random';
import { AdamW } from '../optim/adamw';
import { warmupCosineSchedule, type LRSchedule } from '../optim/schedule';
import { promptResponseBatch } from '../models/batch';
import { tokenizeChatPrompt } from '../data/chat-template';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { DataParallel, dropoutSeed, rewardShards } from '../parallel/data-parallel';
import type { WorkerMemory } from '../parallel/protocol';
import { checkInteger } from '../ops/validate';
import { groupComparisons, pairMatrices, pairwiseLoss, type ComparisonRecord, type PromptGroup } from './pairwise';
import type { RewardModel } from './reward-model';
import { resolveRewardOptions, type RewardTrainerOptions, type ResolvedRewardOptions } from './trainer-options';

export type { RewardTrainerOptions } from './trainer-options';

/** Metrics of one training step or of an evaluation. */
export interface RewardStats {
  /** Weighted pairwise loss (plus the centering term when enabled). */
  loss: number;
  /** Fraction of pairs with `r_chosen > r_rejected` (each pair counts once). */
  accuracy: number;
  /** Mean `r_chosen - r_rejected` over pairs. */
  margin: number;
  /** Mean raw reward of chosen responses. */
  chosenReward: number;
  /** Mean raw reward of rejected responses. */
  rejectedReward: number;
  /** Number of pairs. */
  pairs: number;
}

/** One entry of the training history. */
export interface RewardStepStats extends RewardStats {
  /** 1-based step. */
  step: number;
  /** 1-based epoch. */
  epoch: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Options of {@link RewardTrainer.train}. */
export interface RewardTrainOptions {
  /** Passes over the data. Default `1`. */
  epochs?: number;
  /** Called after every step. */
  onStep?: (stats: RewardStepStats) => void | Promise<void>;
}

interface EncodedGroup {
  prompt: number[];
  responses: number[][];
  pairs: [number, number][];
}


/** Trains a {@link RewardModel} on pairwise comparisons and K-way rankings, of prompts or of conversations. */
export class RewardTrainer {
  private readonly model: RewardModel;
  private readonly tokenizer: Tokenizer;
  private readonly opt: AdamW;
  private readonly schedule: LRSchedule;
  private readonly rng: Rng;
  private readonly o: ResolvedRewardOptions;
  private readonly logger: Logger;
  private readonly parallel: DataParallel;
  private stepCount = 0;

  /** Validates options with {@link resolveRewardOptions} (throws a `ConfigError` naming the option) and creates the optimizer. */
  constructor(options: RewardTrainerOptions) {
    this.o = resolveRewardOptions(options);
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    const { learningRate: lr, warmupSteps, decaySteps, weightDecay } = this.o;
    this.schedule = warmupCosineSchedule({ peak: lr, warmupSteps, totalSteps: decaySteps, minLr: lr / 10 });
    this.opt = new AdamW(this.model.trainableVariables, { learningRate: lr, weightDecay });
    this.rng = new Rng(this.o.seed);
    this.logger = this.o.logger;
    this.parallel = new DataParallel({
      param: 'RewardTrainerOptions.workers', workers: this.o.workers, batchRows: this.o.batchSize, model: { kind: 'reward', model: this.model },
      opt: this.opt, optimizerOptions: { learningRate: lr, weightDecay }, checkReplicas: this.o.checkReplicas, logger: this.logger,
    });
  }

  /** Steps taken so far. */
  get step(): number {
    return this.stepCount;
  }

  /** Frees the optimizer state (Adam moments) and ends the worker threads; the model is the caller's. */
  dispose(): void {
    this.opt.dispose();
    void this.parallel.dispose();
  }

  /** Live tensors and heap of each worker thread (empty when training in-process, before the first step, or after `dispose`). */
  async workerMemory(): Promise<WorkerMemory[]> {
    return this.parallel.workerMemory();
  }

  /** The batch split into one shard of whole prompt groups per replica (the pool path's loss). */
  private shards(batch: EncodedGroup[], n: number) {
    const prompts = batch.flatMap((g) => g.responses.map(() => g.prompt));
    const responses = batch.flatMap((g) => g.responses);
    const rows = promptResponseBatch(prompts, responses, this.tokenizer.padId);
    const groups = batch.map((g) => ({ rows: g.responses.length, pairs: g.pairs }));
    const seed = dropoutSeed(this.model.config.dropout, this.rng);
    return rewardShards(rows, groups, n, { margin: this.o.margin, centerCoef: this.o.centerRewardsCoef, seed });
  }

  /** Tokenizes groups, enforcing the context length (error or left truncation of the prompt). */
  private encode(groups: PromptGroup[]): EncodedGroup[] {
    const ctx = this.model.config.contextLength;
    return groups.map((g) => {
      // A conversation is rendered with the chat template SFT trains on, ending in the open assistant header.
      let prompt = g.messages !== undefined ? tokenizeChatPrompt(g.messages, this.tokenizer) : this.tokenizer.encode(g.prompt);
      const responses = g.responses.map((r) => [...this.tokenizer.encode(r), ...(this.o.appendEos ? [this.tokenizer.eosId] : [])]);
      const longest = Math.max(...responses.map((r) => r.length));
      if (prompt.length + longest > ctx) {
        if (this.o.truncatePrompt === 'error' || longest >= ctx) {
          throw new InputError(`data[${g.firstRecord}]`, `${prompt.length} prompt + ${longest} response tokens`,
            `exceeds contextLength = ${ctx}${this.o.truncatePrompt === 'error' ? " (set truncatePrompt: 'left' to drop prompt tokens)" : ''}`);
        }
        prompt = prompt.slice(prompt.length - (ctx - longest));
      }
      if (prompt.length === 0) throw new InputError(`data[${g.firstRecord}].prompt`, g.prompt, 'encodes to no tokens (after truncation)');
      return { prompt, responses, pairs: g.pairs };
    });
  }

  /** Scores `[N]`, per-pair differences `[P]` and the loss for a batch (inside a tidy). */
  private forward(batch: EncodedGroup[], training: boolean) {
    const prompts = batch.flatMap((g) => g.responses.map(() => g.prompt));
    const responses = batch.flatMap((g) => g.responses);
    const pt = pairMatrices(batch.map((g) => ({ rows: g.responses.length, pairs: g.pairs })));
    const N = responses.length;
    const scores = this.model.rawScores(promptResponseBatch(prompts, responses, this.tokenizer.padId), { training, rng: this.rng }); // [N]
    const col = tf.reshape(scores, [N, 1]);
    const d = tf.reshape(tf.matMul(tf.tensor2d(pt.diff, [pt.nPairs, N]), col), [pt.nPairs]) as tf.Tensor1D; // [P] r_w - r_l
    const s = tf.reshape(tf.matMul(tf.tensor2d(pt.sum, [pt.nPairs, N]), col), [pt.nPairs]) as tf.Tensor1D; //  [P] r_w + r_l
    const w = tf.tensor1d(pt.weight);
    const bt = pairwiseLoss(d, tf.zerosLike(d) as tf.Tensor1D, this.o.margin); //                               [P]
    let loss = tf.sum(tf.mul(bt, w)) as tf.Scalar;
    if (this.o.centerRewardsCoef > 0) loss = tf.add(loss, tf.mul(this.o.centerRewardsCoef, tf.sum(tf.mul(tf.square(s), w)))) as tf.Scalar;
    return { loss, d, s };
  }

  private static stats(loss: number, d: ArrayLike<number>, s: ArrayLike<number>): RewardStats {
    const P = d.length;
    let acc = 0;
    let m = 0;
    let c = 0;
    let r = 0;
    for (let i = 0; i < P; i++) {
      const di = d[i] as number;
      const si = s[i] as number;
      if (di > 0) acc++;
      m += di;
      c += (si + di) / 2;
      r += (si - di) / 2;
    }
    return { loss, accuracy: acc / P, margin: m / P, chosenReward: c / P, rejectedReward: r / P, pairs: P };
  }

  private batches(groups: EncodedGroup[], shuffle: boolean): EncodedGroup[][] {
    const order = groups.map((_, i) => i);
    if (shuffle) this.rng.shuffle(order);
    const out: EncodedGroup[][] = [];
    for (let i = 0; i < order.length; i += this.o.batchSize) out.push(order.slice(i, i + this.o.batchSize).map((k) => groups[k] as EncodedGroup));
    return out;
  }

  /** Trains on pairs and/or K-way rankings (plain or of conversation replies); returns the per-step history. */
  async train(data: readonly ComparisonRecord[], options: RewardTrainOptions = {}): Promise<RewardStepStats[]> {
    const epochs = checkInteger('epochs', options.epochs ?? 1, 1);
    const groups = this.encode(groupComparisons(data));
    const history: RewardStepStats[] = [];
    const total = epochs * Math.ceil(groups.length / this.o.batchSize);
    await this.parallel.begin(); // starts the worker replicas (first call) or resyncs them
    try {
      for (let epoch = 1; epoch <= epochs; epoch++) {
        for (const batch of this.batches(groups, true)) {
          const lr = this.schedule(this.stepCount);
          const r = await this.parallel.step(() => {
            const f = this.forward(batch, true);
            return { loss: f.loss, metrics: { d: f.d, s: f.s } };
          }, (n) => this.shards(batch, n), { maxGradNorm: this.o.maxGradNorm, learningRate: lr, where: `RewardTrainer step ${this.stepCount + 1}` });
          this.stepCount++;
          const stats: RewardStepStats = { ...RewardTrainer.stats(r.loss, r.metrics.d ?? [], r.metrics.s ?? []), step: this.stepCount, epoch, lr, gradNorm: r.gradNorm };
          history.push(stats);
          this.logger.log('info', 'reward step', { ...stats });
          this.logger.progress?.({ task: 'reward', done: history.length, total, unit: 'step', info: { loss: stats.loss, acc: stats.accuracy } });
          await options.onStep?.(stats);
        }
      }
    } finally {
      this.parallel.end();
    }
    return history;
  }

  /** Loss, pairwise accuracy and margins over comparisons (no dropout, no update). */
  async evaluate(data: readonly ComparisonRecord[]): Promise<RewardStats> {
    const groups = this.encode(groupComparisons(data));
    let lossSum = 0;
    const ds: number[] = [];
    const ss: number[] = [];
    for (const batch of this.batches(groups, false)) {
      const out = tf.tidy(() => {
        const f = this.forward(batch, false);
        return [f.loss, f.d, f.s];
      });
      const [l, d, s] = await Promise.all(out.map((t) => t.data()));
      tf.dispose(out);
      lossSum += (l?.[0] as number) * batch.length;
      ds.push(...Array.from(d ?? []));
      ss.push(...Array.from(s ?? []));
    }
    return RewardTrainer.stats(lossSum / groups.length, ds, ss);
  }
}
