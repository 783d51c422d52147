/**
 * Next-token-prediction training on raw text (the pretraining stage): random windows from a token
 * stream, AdamW with decoupled weight decay, linear warmup + cosine decay, global-norm clipping.
 * @module
 */
import { tf } from '../tf';
import { FileFormatError, InputError, previewValue } from '../errors';
import { joinPath } from '../io/paths';
import type { Logger } from '../logging/logger';
import { Rng, type RngState } from '../ops/random';
import { AdamW } from '../optim/adamw';
import { warmupCosineSchedule, type LRSchedule } from '../optim/schedule';
import type { PaddedBatch } from '../models/batch';
import type { TransformerPolicy } from '../models/policy';
import { checkInteger } from '../ops/validate';
import { resolveLMOptions, type LMTrainerOptions, type ResolvedLMOptions } from './options';
import { DataParallel, dropoutSeed, lmShards } from '../parallel/data-parallel';
import type { WorkerMemory } from '../parallel/protocol';
import { readTrainerFolder, writeTrainerFolder, TRAINER_FOLDER_FORMAT, type TrainerFolderJson } from './trainer-folder';

export type { LMTrainerOptions } from './options';

/** One entry of the training history. */
export interface LMStepStats {
  /** 1-based step number. */
  step: number;
  /** Mean next-token cross-entropy (nats) of the batch before the update. */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Training tokens per second of this step. */
  tokensPerSecond: number;
}

/** Options of {@link LMTrainer.train}. */
export interface LMTrainOptions {
  /** Number of optimisation steps. Required. */
  steps: number;
  /** Called after every step. */
  onStep?: (stats: LMStepStats) => void | Promise<void>;
}

/** Options of {@link LMTrainer.evaluate}. */
export interface LMEvaluateOptions {
  /** Evaluate at most this many consecutive windows. Default: all windows of `tokens`. */
  maxWindows?: number;
}

/** Result of {@link LMTrainer.evaluate}. */
export interface LMEvaluation {
  /** Mean next-token cross-entropy in nats per token. */
  loss: number;
  /** `exp(loss)`. */
  perplexity: number;
}

/** Options of {@link LMTrainer.load}: what a checkpoint does not hold. */
export interface LMLoadOptions {
  /** Replicas for the resumed run (see {@link LMTrainerOptions.workers}). Default: as saved. */
  workers?: LMTrainerOptions['workers'];
  /** Receives progress messages. Default: silent. */
  logger?: Logger;
}

/** Contents of an LM checkpoint's `trainer.json`. */
interface LMTrainerJson extends TrainerFolderJson {
  kind: 'lm';
  step: number;
  rng: RngState;
  options: Omit<ResolvedLMOptions, 'logger'>;
}

/** Trains a {@link TransformerPolicy} to predict the next token of a token stream. */
export class LMTrainer {
  /** The model being trained (for a trainer from {@link LMTrainer.load}, the loaded one, freed by `dispose`). */
  readonly policy: TransformerPolicy;
  private readonly options: ResolvedLMOptions;
  private readonly owned: TransformerPolicy[] = [];
  private readonly opt: AdamW;
  private readonly schedule: LRSchedule;
  private readonly rng: Rng;
  private readonly batchSize: number;
  private readonly seqLen: number;
  private readonly maxGradNorm: number;
  private readonly logger: Logger;
  private readonly parallel: DataParallel;
  private stepCount = 0;

  /** Validates options with {@link resolveLMOptions} (throws a `ConfigError` naming the option) and creates the optimizer. */
  constructor(options: LMTrainerOptions) {
    const o = resolveLMOptions(options);
    this.options = o;
    this.policy = options.policy;
    this.batchSize = o.batchSize;
    this.seqLen = o.sequenceLength;
    this.schedule = warmupCosineSchedule({ peak: o.learningRate, warmupSteps: o.warmupSteps, totalSteps: o.decaySteps, minLr: o.minLearningRate });
    this.maxGradNorm = o.maxGradNorm;
    const adam = { learningRate: o.learningRate, weightDecay: o.weightDecay, beta1: o.beta1, beta2: o.beta2, epsilon: o.adamEpsilon };
    this.opt = new AdamW(this.policy.trainableVariables, adam);
    this.rng = new Rng(o.seed);
    this.logger = o.logger;
    this.parallel = new DataParallel({
      param: 'LMTrainerOptions.workers', workers: o.workers, batchRows: o.batchSize, model: { kind: 'policy', policy: this.policy },
      opt: this.opt, optimizerOptions: adam, checkReplicas: o.checkReplicas, logger: o.logger,
    });
  }

  /** Steps taken so far. */
  get step(): number {
    return this.stepCount;
  }

  /** Frees the optimizer state (Adam moments) and ends the worker threads; the policy is the caller's (unless loaded by {@link LMTrainer.load}). */
  dispose(): void {
    this.opt.dispose();
    void this.parallel.dispose();
    for (const p of this.owned) p.dispose();
  }

  /**
   * Saves what resuming needs: `policy/`, the Adam moments (`trainer.safetensors`), the step, the
   * window sampler's RNG state and the options (`trainer.json`). Atomic as a whole: a crash mid-save
   * leaves the previous checkpoint. Node.js only.
   */
  async save(dir: string): Promise<void> {
    const { logger: _l, ...options } = this.options;
    const json: LMTrainerJson = { kind: 'lm', format: TRAINER_FOLDER_FORMAT, step: this.stepCount, rng: this.rng.getState(), options };
    await writeTrainerFolder(dir, { json, policy: this.policy, optimizer: this.opt.exportState() });
  }

  /**
   * Restores a trainer saved by {@link LMTrainer.save}: the next `train` call continues exactly where it
   * stopped (same windows, same learning rate). The loaded policy is `trainer.policy`.
   * @throws {@link FileFormatError} for a missing, mixed or non-finite checkpoint.
   */
  static async load(dir: string, with_: LMLoadOptions = {}): Promise<LMTrainer> {
    const c = await readTrainerFolder<LMTrainerJson>(dir, 'lm');
    if (!Number.isSafeInteger(c.json.step) || c.json.step < 0) {
      c.policy.dispose();
      throw new FileFormatError(joinPath(dir, 'trainer.json'), `step ${previewValue(c.json.step)} is not an integer >= 0`);
    }
    let trainer: LMTrainer;
    try {
      trainer = new LMTrainer({
        ...c.json.options, policy: c.policy,
        ...(with_.workers !== undefined ? { workers: with_.workers } : {}), ...(with_.logger ? { logger: with_.logger } : {}),
      });
    } catch (e) {
      c.policy.dispose();
      throw e;
    }
    trainer.owned.push(c.policy);
    try {
      trainer.opt.importState(c.optimizer);
      trainer.rng.setState(c.json.rng);
    } catch (e) {
      trainer.dispose(); // frees the moments and the loaded policy
      throw e;
    }
    trainer.stepCount = c.json.step;
    return trainer;
  }

  /** Live tensors and heap of each worker thread (empty when training in-process, before the first step, or after `dispose`). */
  async workerMemory(): Promise<WorkerMemory[]> {
    return this.parallel.workerMemory();
  }

  /** A batch of `batchSize` random windows of `sequenceLength + 1` tokens. */
  private sampleBatch(tokens: ArrayLike<number>): PaddedBatch {
    const L = this.seqLen + 1;
    const B = this.batchSize;
    const ids = new Int32Array(B * L);
    for (let b = 0; b < B; b++) {
      const start = this.rng.int(tokens.length - L + 1);
      for (let t = 0; t < L; t++) ids[b * L + t] = tokens[start + t] as number;
    }
    return { ids, mask: new Int32Array(B * L).fill(1), batch: B, length: L };
  }

  private checkTokens(tokens: ArrayLike<number>): void {
    if (tokens.length < this.seqLen + 1) {
      throw new InputError('tokens.length', tokens.length, `must be at least sequenceLength + 1 = ${this.seqLen + 1}`);
    }
    const V = this.policy.config.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i] as number;
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new InputError(`tokens[${i}]`, id, `must be a token id in [0, ${V})`);
    }
  }

  /** Runs `steps` optimisation steps on random windows of `tokens`; returns the per-step history. */
  async train(tokens: ArrayLike<number>, options: LMTrainOptions): Promise<LMStepStats[]> {
    const steps = checkInteger('steps', options.steps, 1);
    this.checkTokens(tokens);
    const history: LMStepStats[] = [];
    await this.parallel.begin(); // starts the worker replicas (first call) or resyncs them
    try {
      for (let i = 0; i < steps; i++) {
        const batch = this.sampleBatch(tokens);
        const lr = this.schedule(this.stepCount);
        const t0 = performance.now();
        const shards = (n: number) => lmShards(batch, n, dropoutSeed(this.policy.config.dropout, this.rng));
        const r = await this.parallel.step(() => ({ loss: this.lossOf(batch, true) }), shards, {
          maxGradNorm: this.maxGradNorm, learningRate: lr, where: `LMTrainer step ${this.stepCount + 1}`,
        });
        this.stepCount++;
        const dt = (performance.now() - t0) / 1000;
        const stats: LMStepStats = { step: this.stepCount, loss: r.loss, lr, gradNorm: r.gradNorm, tokensPerSecond: (batch.batch * this.seqLen) / dt };
        history.push(stats);
        this.logger.log('info', 'lm step', { ...stats });
        this.logger.progress?.({ task: 'lm', done: i + 1, total: steps, unit: 'step', info: { loss: stats.loss } });
        await options.onStep?.(stats);
      }
    } finally {
      this.parallel.end();
    }
    return history;
  }

  /** Mean cross-entropy of a batch (scalar, inside the caller's tidy). */
  private lossOf(batch: PaddedBatch, training: boolean): tf.Scalar {
    return tf.neg(tf.mean(this.policy.tokenLogProbs(batch, { from: 1, training, rng: this.rng }))) as tf.Scalar;
  }

  /** Mean next-token loss and perplexity over consecutive windows covering `tokens` (no dropout). */
  async evaluate(tokens: ArrayLike<number>, options: LMEvaluateOptions = {}): Promise<LMEvaluation> {
    this.checkTokens(tokens);
    const L = this.seqLen + 1;
    const windows = Math.min(Math.floor((tokens.length - 1) / this.seqLen), options.maxWindows ?? Infinity);
    let total = 0;
    let count = 0;
    for (let w = 0; w < windows; w += this.batchSize) {
      const n = Math.min(this.batchSize, windows - w);
      const ids = new Int32Array(n * L);
      for (let b = 0; b < n; b++) for (let t = 0; t < L; t++) ids[b * L + t] = tokens[(w + b) * this.seqLen + t] as number;
      const lossT = tf.tidy(() => this.lossOf({ ids, mask: new Int32Array(n * L).fill(1), batch: n, length: L }, false));
      total += (await lossT.data())[0] as number * n;
      lossT.dispose();
      count += n;
    }
    const loss = total / count;
    return { loss, perplexity: Math.exp(loss) };
  }
}
