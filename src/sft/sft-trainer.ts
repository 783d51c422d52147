/**
 * Supervised fine-tuning (the SFT stage of InstructGPT): next-token cross-entropy on completions only.
 *
 * Each example becomes one sequence (see {@link prepareSequences}): prompt tokens are context and carry
 * no loss; completion tokens and the EOS appended after them (so the policy learns to stop) are the
 * targets; for chat examples the targets are the assistant turns and their EOS. The loss of a batch is
 * the token mean over its targets, `-sum(log p(target)) / #targets` (as in Hugging Face TRL), so long
 * completions weigh more than short ones. Each example is its own row: there is no packing of several
 * examples into one sequence. Each epoch visits every example once, in an order shuffled by the seeded
 * random stream; the last batch of an epoch may be smaller.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { Logger } from '../logging/logger';
import { Rng, type RngState } from '../ops/random';
import { AdamW, type AdamWState } from '../optim/adamw';
import { warmupCosineSchedule, type LRSchedule } from '../optim/schedule';
import type { TransformerPolicy } from '../models/policy';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { DataParallel, dropoutSeed, sftShards } from '../parallel/data-parallel';
import type { WorkerMemory } from '../parallel/protocol';
import { checkInteger } from '../ops/validate';
import { sftBatch, type SFTBatch } from './batch';
import { prepareSequences, type SFTInput, type SFTSequence, type TruncatePrompt } from './examples';
import { resolveSFTOptions, type SFTTrainerOptions } from './options';

export type { SFTTrainerOptions } from './options';

/** One entry of the training history. */
export interface SFTStepStats {
  /** 1-based step number, counted over the trainer's life. */
  step: number;
  /** 1-based epoch within the current `train` call. */
  epoch: number;
  /** Token-mean cross-entropy (nats) over the batch's completion tokens, before the update. */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Completion (target) tokens in the batch, EOS included. */
  tokens: number;
  /** Completion tokens per second of this step. */
  tokensPerSecond: number;
}

/** Options of {@link SFTTrainer.train}. */
export interface SFTTrainOptions {
  /** Passes over the examples. Default `1`. */
  epochs?: number;
  /** Called after every step. */
  onStep?: (stats: SFTStepStats) => void | Promise<void>;
}

/** Result of {@link SFTTrainer.evaluate}. */
export interface SFTEvaluation {
  /** Token-mean cross-entropy in nats over all completion tokens (EOS included). */
  loss: number;
  /** `exp(loss)`. */
  perplexity: number;
  /** Number of completion tokens scored. */
  tokens: number;
}

/** Everything {@link SFTTrainer.exportState} saves besides the weights (which the policy saves). */
export interface SFTTrainerState {
  /** Steps taken so far. */
  step: number;
  /** The resolved `decaySteps`, or `null` while it is still to be set by the first `train` call. */
  decaySteps: number | null;
  /** The shuffling / dropout random stream. */
  rng: RngState;
  /** AdamW's step and moments. */
  optimizer: AdamWState;
}

/**
 * Fine-tunes a {@link TransformerPolicy} on prompt/completion, chat or pre-tokenized examples, with the
 * loss on completion tokens (and their EOS) only. See the module notes for the loss and batching.
 * @example
 * ```ts
 * const sft = new SFTTrainer({ policy, tokenizer, learningRate: 3e-4, batchSize: 16 });
 * const history = await sft.train([{ prompt: 'Q: 2+2?\nA:', completion: ' 4' }], { epochs: 3 });
 * const { loss, perplexity } = await sft.evaluate(heldOut);
 * ```
 */
export class SFTTrainer {
  private readonly policy: TransformerPolicy;
  private readonly tokenizer: Tokenizer;
  private readonly opt: AdamW;
  private readonly rng: Rng;
  private readonly batchSize: number;
  private readonly maxGradNorm: number;
  private readonly truncatePrompt: TruncatePrompt;
  private readonly logger: Logger;
  private readonly peakLr: number;
  private readonly warmupSteps: number;
  private readonly minLr: number;
  private decaySteps: number | undefined;
  private schedule: LRSchedule | undefined;
  private readonly parallel: DataParallel;
  private stepCount = 0;

  /** Validates options with {@link resolveSFTOptions} (throws a `ConfigError` naming the option) and creates the optimizer. */
  constructor(options: SFTTrainerOptions) {
    const o = resolveSFTOptions(options);
    this.policy = options.policy;
    this.tokenizer = options.tokenizer;
    this.peakLr = o.learningRate;
    this.batchSize = o.batchSize;
    this.warmupSteps = o.warmupSteps;
    this.minLr = o.minLearningRate;
    if (o.decaySteps !== undefined) this.setDecaySteps(o.decaySteps);
    this.maxGradNorm = o.maxGradNorm;
    this.truncatePrompt = o.truncatePrompt;
    const adam = { learningRate: o.learningRate, weightDecay: o.weightDecay, beta1: o.beta1, beta2: o.beta2, epsilon: o.adamEpsilon };
    this.opt = new AdamW(this.policy.trainableVariables, adam);
    this.rng = new Rng(o.seed);
    this.logger = o.logger;
    this.parallel = new DataParallel({
      param: 'SFTTrainerOptions.workers', workers: o.workers, batchRows: o.batchSize, model: { kind: 'policy', policy: this.policy },
      opt: this.opt, optimizerOptions: adam, checkReplicas: o.checkReplicas, logger: o.logger,
    });
  }

  /** Steps taken so far. */
  get step(): number {
    return this.stepCount;
  }

  /** Fixes the schedule length (once known) and builds the warmup + cosine schedule. */
  private setDecaySteps(n: number): void {
    this.decaySteps = n;
    this.schedule = warmupCosineSchedule({ peak: this.peakLr, warmupSteps: this.warmupSteps, totalSteps: n, minLr: this.minLr });
  }

  /** Tokenizes and checks all examples; warns when prompts were truncated. */
  private prepare(examples: readonly SFTInput[]): SFTSequence[] {
    const { vocabSize, contextLength } = this.policy.config;
    const r = prepareSequences(examples, { tokenizer: this.tokenizer, vocabSize, contextLength, truncatePrompt: this.truncatePrompt });
    if (r.truncated > 0) {
      this.logger.log('warn', 'sft: prompts truncated from the left to fit the context', { truncated: r.truncated, contextLength });
    }
    return r.sequences;
  }

  /**
   * Runs `epochs` passes over `examples` (reshuffled each epoch), one optimisation step per batch of
   * `batchSize`; returns the per-step history. All examples are checked before the first step.
   * @throws An {@link InputError} naming the example that is invalid or does not fit the context.
   * @throws A `NonFiniteError` if a loss or gradient norm is not finite (that update is not applied).
   * @throws A `ConfigError` if `epochs` is not an integer >= 1.
   */
  async train(examples: readonly SFTInput[], options: SFTTrainOptions = {}): Promise<SFTStepStats[]> {
    const epochs = checkInteger('epochs', options.epochs ?? 1, 1);
    const seqs = this.prepare(examples);
    const perEpoch = Math.ceil(seqs.length / this.batchSize);
    if (this.schedule === undefined) this.setDecaySteps(Math.max(1, this.warmupSteps, this.stepCount + epochs * perEpoch));
    const history: SFTStepStats[] = [];
    await this.parallel.begin(); // starts the worker replicas (first call) or resyncs them
    try {
      for (let epoch = 1; epoch <= epochs; epoch++) {
        const order = this.rng.shuffle(seqs.map((_, i) => i));
        for (let s = 0; s < order.length; s += this.batchSize) {
          const rows = order.slice(s, s + this.batchSize).map((i) => seqs[i] as SFTSequence);
          const stats = await this.runStep(sftBatch(rows, this.tokenizer.padId), epoch);
          history.push(stats);
          this.logger.log('info', 'sft step', { ...stats });
          this.logger.progress?.({ task: 'sft', done: history.length, total: epochs * perEpoch, unit: 'step', info: { loss: stats.loss } });
          await options.onStep?.(stats);
        }
      }
    } finally {
      this.parallel.end();
    }
    return history;
  }

  /** One optimizer step on a batch. */
  private async runStep(b: SFTBatch, epoch: number): Promise<SFTStepStats> {
    const lr = (this.schedule as LRSchedule)(this.stepCount);
    const t0 = performance.now();
    const shards = (n: number) => sftShards(b.batch, b.lossMask, b.tokens, n, dropoutSeed(this.policy.config.dropout, this.rng));
    const r = await this.parallel.step(() => ({ loss: tf.div(this.nllSum(b, true), b.tokens) as tf.Scalar }), shards, {
      maxGradNorm: this.maxGradNorm, learningRate: lr, where: `SFTTrainer step ${this.stepCount + 1}`,
    });
    this.stepCount++;
    const dt = (performance.now() - t0) / 1000;
    return { step: this.stepCount, epoch, loss: r.loss, lr, gradNorm: r.gradNorm, tokens: b.tokens, tokensPerSecond: b.tokens / dt };
  }

  /** Sum of `-log p` over the batch's targets (scalar, inside the caller's tidy). */
  private nllSum(b: SFTBatch, training: boolean): tf.Scalar {
    const { batch: B, length: T } = b.batch;
    const lp = this.policy.tokenLogProbs(b.batch, { from: 1, training, rng: this.rng }); // [B, T-1]
    const mask = tf.tensor2d(b.lossMask, [B, T - 1], 'float32'); //                       [B, T-1]
    return tf.neg(tf.sum(tf.mul(lp, mask))) as tf.Scalar; //                               scalar
  }

  /**
   * Token-mean loss and perplexity over the completion tokens of `examples` (no dropout, batches of
   * `batchSize` in the given order; weights, optimizer and random stream untouched).
   * @throws An {@link InputError} naming the example that is invalid or does not fit the context.
   */
  async evaluate(examples: readonly SFTInput[]): Promise<SFTEvaluation> {
    const seqs = this.prepare(examples);
    let total = 0;
    let tokens = 0;
    for (let s = 0; s < seqs.length; s += this.batchSize) {
      const b = sftBatch(seqs.slice(s, s + this.batchSize), this.tokenizer.padId);
      const nll = tf.tidy(() => this.nllSum(b, false));
      total += (await nll.data())[0] as number;
      nll.dispose();
      tokens += b.tokens;
    }
    const loss = total / tokens;
    return { loss, perplexity: Math.exp(loss), tokens };
  }

  /**
   * The trainer's state for a checkpoint: step, schedule length, random stream and AdamW moments (the
   * policy's weights are saved separately, e.g. with `policy.save`). Reads tensors synchronously.
   */
  exportState(): SFTTrainerState {
    return { step: this.stepCount, decaySteps: this.decaySteps ?? null, rng: this.rng.getState(), optimizer: this.opt.exportState() };
  }

  /**
   * Restores a state from {@link SFTTrainer.exportState} of a trainer over the same policy config.
   * @throws An {@link InputError} naming the offending field; nothing changes then.
   */
  importState(state: SFTTrainerState): void {
    if (typeof state !== 'object' || state === null) throw new InputError('state', state, 'must be an SFTTrainerState object');
    const { step, decaySteps, rng } = state;
    if (!(typeof step === 'number' && Number.isSafeInteger(step) && step >= 0)) throw new InputError('state.step', step, 'must be an integer >= 0');
    const okDecay = decaySteps === null || (typeof decaySteps === 'number' && Number.isSafeInteger(decaySteps) && decaySteps >= Math.max(1, this.warmupSteps));
    if (!okDecay) throw new InputError('state.decaySteps', decaySteps, `must be null or an integer >= ${Math.max(1, this.warmupSteps)}`);
    if (typeof rng !== 'object' || rng === null || typeof rng.s !== 'number') throw new InputError('state.rng', rng, 'must be an RngState');
    this.opt.importState(state.optimizer);
    this.rng.setState(rng);
    this.stepCount = step;
    if (decaySteps !== null) this.setDecaySteps(decaySteps); // null: keep this trainer's own (if any)
  }

  /** Frees the optimizer's moments and ends the worker threads. The trainer cannot train afterwards; the policy is untouched. */
  dispose(): void {
    this.opt.dispose();
    void this.parallel.dispose();
  }

  /** Live tensors and heap of each worker thread (empty when training in-process, before the first step, or after `dispose`). */
  async workerMemory(): Promise<WorkerMemory[]> {
    return this.parallel.workerMemory();
  }
}
