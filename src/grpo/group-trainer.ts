/**
 * The shared machinery of the critic-free online trainers (GRPO, RLOO): sample G completions per
 * prompt with PPO's rollout, score them with PPO's scorer (reward functions also get the prompt row's
 * extra columns), turn the scores into one advantage per completion (the subclass's estimator), and
 * run the clipped update with an optional k3 KL to the reference. No critic, no GAE.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { TransformerPolicy } from '../models/policy';
import { Rng, type RngState } from '../ops/random';
import { checkInteger } from '../ops/validate';
import { AdamW } from '../optim/adamw';
import { referenceLogProbs } from '../ppo/evaluate-rollout';
import { resolvePPOOptions, type RewardSample, type ResolvedPPOOptions } from '../ppo/options';
import { rollout } from '../ppo/rollout';
import { scoreRollout, type Scores } from '../ppo/score';
import { dialogueRollout } from '../ppo/dialogue-rollout';
import { scoreDialogue } from '../ppo/dialogue-score';
import type { DialoguePrompt } from '../dialogue/options';
import type { Rollout } from '../ppo/rollout';
import type { RewardFunction } from '../ppo/options';
import { minibatchPlan } from '../ppo/update';
import { logSamples } from '../report/metrics-logger';
import { RewardModel } from '../reward/reward-model';
import type { ColumnRewardFunction } from '../rewards/rewards';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { TRAINER_FOLDER_FORMAT, writeTrainerFolder } from '../train/trainer-folder';
import type { GRPOTrainerOptions, ResolvedGroupOptions } from './options';
import { groupRewardStats, type GRPOStats } from './stats';
import { groupUpdate } from './update';
import { DataParallel } from '../parallel/data-parallel';
import type { WorkerMemory } from '../parallel/protocol';

/** A prompt with extra dataset columns (e.g. `{ prompt, answer }`) handed to a reward function. */
export interface PromptRow {
  /** The prompt text. */
  prompt: string;
  /** Any other column. */
  [column: string]: unknown;
}

/** A prompt of the online trainers: a string or a row with columns; with `dialogue`, a conversation. */
export type GroupPrompt = string | PromptRow | DialoguePrompt;

/** Options of `train` of the online trainers. */
export interface GroupTrainOptions {
  /** Number of steps. Required. */
  steps: number;
  /** Called after every step with its stats. */
  onStep?: (stats: GRPOStats) => void | Promise<void>;
}

/** Counters a checkpoint restores. */
export interface GroupProgress {
  /** Steps taken. */
  step: number;
  /** Completions seen. */
  episode: number;
  /** Completion tokens generated. */
  tokens: number;
}

/** `trainer.json` of a GRPO / RLOO checkpoint. @internal */
export interface GroupTrainerJson {
  kind: string;
  format: number;
  progress: GroupProgress;
  rng: RngState;
  options: Omit<ResolvedGroupOptions, 'logger' | 'tools'>;
  /** Names of the tools the trainer had (the tools themselves are passed again to `load`). */
  toolNames?: string[];
  [key: string]: unknown;
}

function rowsOf(prompts: readonly (string | PromptRow)[]): PromptRow[] {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new InputError('prompts', prompts, 'must be a non-empty array of strings or { prompt, ...columns } rows');
  return prompts.map((p, i) => {
    if (typeof p === 'string') return { prompt: p };
    if (typeof p !== 'object' || p === null || typeof p.prompt !== 'string') throw new InputError(`prompts[${i}].prompt`, (p as PromptRow | null)?.prompt, 'must be a string');
    return p;
  });
}

/** Base class of {@link GRPOTrainer} and {@link RLOOTrainer}; subclasses supply the advantage estimator. */
export abstract class GroupTrainer {
  /** The policy being optimised. */
  readonly policy: TransformerPolicy;
  /** The frozen reference. */
  readonly ref: TransformerPolicy;
  /** The reward model or function. */
  readonly reward: RewardModel | ColumnRewardFunction;
  /** The tokenizer. */
  readonly tokenizer: Tokenizer;
  /** Resolved options. */
  readonly options: ResolvedGroupOptions;
  /** The optimizer over the policy's variables. */
  readonly optimizer: AdamW;
  /** Sampling and shuffling randomness (saved in checkpoints). */
  readonly rng: Rng;
  /** Which method: `'grpo'` or `'rloo'` (the checkpoint's kind and the log message prefix). */
  readonly kind: 'grpo' | 'rloo';
  /** Steps, completions and tokens so far. */
  progress: GroupProgress = { step: 0, episode: 0, tokens: 0 };
  /** Things this trainer created or loaded and frees in {@link GroupTrainer.dispose}. @internal */
  protected readonly owned: { dispose(): void }[] = [];
  private readonly sampling: ResolvedPPOOptions;
  private readonly parallel: DataParallel;

  /** Sets up the reference, optimizer and sampling options from resolved options. */
  protected constructor(options: GRPOTrainerOptions, resolved: ResolvedGroupOptions, kind: 'grpo' | 'rloo') {
    this.kind = kind;
    this.options = resolved;
    this.policy = options.policy;
    this.reward = options.reward;
    this.tokenizer = options.tokenizer;
    this.ref = options.ref ?? this.own(options.policy.clone());
    const adam = { learningRate: resolved.learningRate, weightDecay: 0 };
    this.optimizer = new AdamW(this.policy.trainableVariables, adam);
    this.rng = new Rng(resolved.seed);
    this.parallel = new DataParallel({
      param: `${kind === 'grpo' ? 'GRPOTrainerOptions' : 'RLOOTrainerOptions'}.workers`, workers: resolved.workers, batchRows: resolved.miniBatchSize,
      model: { kind: 'policy', policy: this.policy }, opt: this.optimizer, optimizerOptions: adam, checkReplicas: false, logger: resolved.logger,
    });
    const o = resolved;
    // PPO's rollout, scorer and minibatch plan read their settings from PPO options: the same values.
    this.sampling = resolvePPOOptions({
      policy: options.policy, reward: () => [], tokenizer: options.tokenizer, maxNewTokens: o.maxNewTokens, temperature: o.temperature,
      topK: o.topK, topP: o.topP, stopTokens: o.stopTokens, tools: o.tools, maxToolCalls: o.maxToolCalls,
      ...(o.missingEosPenalty === undefined ? {} : { missingEosPenalty: o.missingEosPenalty }),
      batchSize: o.batchSize * o.numGenerations, miniBatchSize: o.miniBatchSize, ppoEpochs: o.numIterations, seed: o.seed,
    });
  }

  /** Registers something for {@link GroupTrainer.dispose}. @internal */
  protected own<T extends { dispose(): void }>(x: T): T {
    this.owned.push(x);
    return x;
  }

  /** One advantage per completion from `[B, G]` scores (a new tensor). */
  protected abstract advantages(scores: tf.Tensor2D): tf.Tensor2D;

  /** The reward with each sample's prompt-row columns attached (reward models are used as they are). */
  private rewardFor(rows: PromptRow[]): RewardModel | ((s: RewardSample[]) => Promise<number[]>) {
    const r = this.reward;
    if (r instanceof RewardModel) return r;
    const G = this.options.numGenerations;
    return async (samples) => r(samples.map((s, i) => {
      const { prompt: _p, ...cols } = rows[Math.floor(i / G)] as PromptRow;
      return { ...cols, ...s };
    }));
  }

  /** Samples `numGenerations` completions (single-turn, or whole conversations with `dialogue`) per prompt and scores them. */
  private async sampleAndScore(prompts: readonly GroupPrompt[]): Promise<{ ro: Rollout; scores: Scores; B: number }> {
    const G = this.options.numGenerations;
    const d = this.options.dialogue;
    const n = this.progress.step + 1;
    if (d !== undefined) { //                                                                          multi-turn
      if (!Array.isArray(prompts) || prompts.length === 0) throw new InputError('prompts', prompts, 'must be a non-empty array of conversations');
      const expanded = prompts.flatMap((p) => Array<DialoguePrompt>(G).fill(p as DialoguePrompt)); //  [B * G] conversations
      const ro = await dialogueRollout(this.policy, expanded, this.tokenizer, this.sampling, d, this.rng);
      return { ro, scores: await scoreDialogue(this.reward as RewardModel | RewardFunction, ro, this.tokenizer, this.sampling, d, n), B: prompts.length };
    }
    const rows = rowsOf(prompts as readonly (string | PromptRow)[]);
    const expanded = rows.flatMap((r) => Array<string>(G).fill(r.prompt)); //                          [B * G] prompts
    const ro = await rollout(this.policy, expanded, this.tokenizer, this.sampling, this.rng);
    return { ro, scores: await scoreRollout(this.rewardFor(rows), ro, this.tokenizer, this.sampling, n), B: rows.length };
  }

  /** One step on these prompts: sample `numGenerations` completions each, score, advantages, update. */
  async step(prompts: readonly GroupPrompt[]): Promise<GRPOStats> {
    const o = this.options;
    const G = o.numGenerations;
    const where = `${this.kind === 'grpo' ? 'GRPOTrainer' : 'RLOOTrainer'} step ${this.progress.step + 1}`;
    const t0 = performance.now();
    const { ro, scores, B: nPrompts } = await this.sampleAndScore(prompts);
    const plan = minibatchPlan(ro.batch.batch, this.sampling, this.rng);
    const chunks = plan[0] as number[][];
    const oldLogProbs = await referenceLogProbs(this.policy, ro, chunks, o.temperature); //        old = current policy
    const refLogProbs = await referenceLogProbs(this.ref, ro, chunks, o.temperature);
    const advT = tf.tidy(() => this.advantages(tf.tensor2d(scores.final, [nPrompts, G])));
    const advantages = (await advT.data()) as Float32Array;
    advT.dispose();
    await this.parallel.begin(); // starts the worker replicas (first call) or resyncs them
    const upd = await groupUpdate({ policy: this.policy, opt: this.optimizer, ro, targets: { oldLogProbs, refLogProbs, advantages }, plan, o, where, parallel: this.parallel })
      .finally(() => this.parallel.end());
    const lengths = ro.responseIds.map((r) => r.length);
    const tokens = lengths.reduce((a, x) => a + x, 0);
    this.progress = { step: this.progress.step + 1, episode: this.progress.episode + ro.batch.batch, tokens: this.progress.tokens + tokens };
    const stats: GRPOStats = {
      ...groupRewardStats(scores.final, G),
      kl: upd.kl, entropy: upd.entropy,
      'clip_ratio/region_mean': upd.clipRegion, 'clip_ratio/low_mean': upd.clipLow, 'clip_ratio/low_min': upd.clipLowMin,
      'clip_ratio/high_mean': upd.clipHigh, 'clip_ratio/high_max': upd.clipHighMax,
      'completions/mean_length': tokens / lengths.length, 'completions/min_length': Math.min(...lengths), 'completions/max_length': Math.max(...lengths),
      'completions/clipped_ratio': ro.hitStop.filter((h) => !h).length / lengths.length,
      'tools/calls_per_response': ro.toolCalls.reduce((a, x) => a + x, 0) / lengths.length,
      'tools/errors': ro.toolErrors.reduce((a, x) => a + x, 0),
      loss: upd.loss, grad_norm: upd.gradNorm, learning_rate: o.learningRate, num_tokens: this.progress.tokens,
      'policy/ratio_first': upd.firstRatio, step: this.progress.step, episode: this.progress.episode, step_time: (performance.now() - t0) / 1000,
    };
    o.logger.log('info', `${this.kind} step`, { ...stats });
    if (o.sampleEvery > 0 && this.progress.step % o.sampleEvery === 0) {
      logSamples(o.logger, this.progress.step, ro.prompts.slice(0, o.sampleRows).map((prompt, b) => ({
        prompt, response: this.tokenizer.decode(ro.responseIds[b] as number[]), score: scores.final[b] as number, advantage: advantages[b] as number,
      })));
    }
    return stats;
  }

  /** Runs `steps` steps, taking `batchSize` prompt rows per step in order (cycling through them). */
  async train(prompts: readonly GroupPrompt[], options: GroupTrainOptions): Promise<GRPOStats[]> {
    const rows: readonly GroupPrompt[] = this.options.dialogue === undefined ? rowsOf(prompts as readonly (string | PromptRow)[]) : prompts;
    if (!Array.isArray(rows) || rows.length === 0) throw new InputError('prompts', prompts, 'must be a non-empty array');
    const steps = checkInteger('steps', options?.steps, 1);
    const B = this.options.batchSize;
    const history: GRPOStats[] = [];
    for (let i = 0; i < steps; i++) {
      const start = (this.progress.step * B) % rows.length;
      const stats = await this.step(Array.from({ length: B }, (_, k) => rows[(start + k) % rows.length] as GroupPrompt));
      history.push(stats);
      this.options.logger.progress?.({ task: this.kind, done: i + 1, total: steps, unit: 'step', info: { reward: stats.reward, kl: stats.kl } });
      await options.onStep?.(stats);
    }
    return history;
  }

  /**
   * Saves `policy/`, `ref/`, the Adam moments, RNG state, counters and options, atomically as a whole.
   * Tools are functions: only their names are saved, and `load` needs the tools again.
   */
  async save(dir: string): Promise<void> {
    const { logger: _l, tools, ...options } = this.options;
    const json: GroupTrainerJson = {
      kind: this.kind, format: TRAINER_FOLDER_FORMAT, progress: { ...this.progress }, rng: this.rng.getState(), options,
      toolNames: tools.map((t) => t.name),
    };
    await writeTrainerFolder(dir, { json, policy: this.policy, ref: this.ref, optimizer: this.optimizer.exportState() });
  }

  /** Memory of each worker thread (empty when none runs). */
  async workerMemory(): Promise<WorkerMemory[]> {
    return this.parallel.workerMemory();
  }

  /** Frees what the trainer created or loaded (reference clone, optimizer moments, worker threads); not the caller's models. */
  dispose(): void {
    void this.parallel.dispose();
    this.optimizer.dispose();
    for (const x of this.owned) x.dispose();
  }
}
