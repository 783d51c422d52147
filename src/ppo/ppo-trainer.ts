/**
 * `PPOTrainer`: RLHF with PPO against a reward model or function, with a per-token KL penalty to a
 * frozen reference policy (InstructGPT; Ziegler et al. 2019). `step()` reads like the paper: one call
 * per stage (1 rollout, 2 reference, 3 score, 4 rewards, 5 values, 6 advantages, 7 update, 8 KL
 * controller; the numbering of docs/guides/ppo.md), each stage in its own module.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import { checkInteger } from '../ops/validate';
import { Rng } from '../ops/random';
import { AdamW } from '../optim/adamw';
import { TransformerPolicy } from '../models/policy';
import type { Logger } from '../logging/logger';
import { PPO_CHECKPOINT_FORMAT, readPPOCheckpoint, writePPOCheckpoint, type PPOProgress } from './checkpoint';
import { RewardModel } from '../reward/reward-model';
import { AdaptiveKLController, FixedKLController, type KLController } from '../rl/kl-controllers';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { computeAdvantages } from './advantages';
import { evaluateRollout, referenceLogProbs } from './evaluate-rollout';
import { criticVariables, zeroValueHead, type Critic } from './forward';
import { resolvePPOOptions, type PPOTrainerOptions, type ResolvedPPOOptions, type RewardFunction } from './options';
import { rollout, type Rollout } from './rollout';
import { finishScores, scoreRollout } from './score';
import { dialogueRollout } from './dialogue-rollout';
import { evaluateSplit, ppoUpdateSplit } from './split';
import { CriticWorker } from '../parallel/critic-client';
import { resolveWorkerCount, type WorkersOption } from '../parallel/options';
import type { WorkerMemory } from '../parallel/protocol';
import { scoreDialogue, type DialogueScores } from './dialogue-score';
import type { DialogueOptions, DialoguePrompt } from '../dialogue/options';
import type { DialogueRolloutInfo } from '../dialogue/conversation';
import { mean, reportStep, stepStats, type PPOStats, type StepRecord } from './stats';
import { minibatchPlan, ppoUpdate, type UpdateArgs, type UpdateStats } from './update';

/** Options of {@link PPOTrainer.train}. */
export interface PPOTrainOptions {
  /** Number of PPO steps. Required. */
  steps: number;
  /** Called after every step with its stats. */
  onStep?: (stats: PPOStats) => void | Promise<void>;
}

/** What {@link PPOTrainer.load} needs besides the checkpoint. */
export interface PPOLoadOptions {
  /** The reward model or function (not stored in checkpoints). */
  reward: RewardModel | RewardFunction;
  /** The tokenizer. */
  tokenizer: Tokenizer;
  /** Logger. Default: silent. */
  logger?: Logger;
  /** PPO-ptx token stream, when the run used one. */
  ptxData?: ArrayLike<number>;
  /** Dialogue options, when the run used them (a `userSimulator` function is not stored in checkpoints). Default: the saved ones. */
  dialogue?: DialogueOptions;
  /** Threads (see `PPOTrainerOptions.workers`); a run resumes on any count. Default: the saved option. */
  workers?: WorkersOption;
}

/**
 * A prompt of {@link PPOTrainer.step}: a string, or with the `dialogue` option a conversation (chat
 * messages, or a `DialogueSample` with scripted user turns).
 */
export type PPOPrompt = string | DialoguePrompt;

export type { PPOProgress } from './checkpoint';

/** Trains a policy with PPO against a reward, with a KL penalty to a reference policy. */
export class PPOTrainer {
  /** The policy being optimised. */
  readonly policy: TransformerPolicy;
  /** The frozen reference policy. */
  readonly ref: TransformerPolicy;
  /** The reward model or function. */
  readonly reward: RewardModel | RewardFunction;
  /** The tokenizer. */
  readonly tokenizer: Tokenizer;
  /** The critic (separate value model or shared value head). */
  readonly critic: Critic;
  /** The KL coefficient controller. */
  readonly kl: KLController;
  /** Resolved options. */
  readonly options: ResolvedPPOOptions;
  /** One optimizer over the policy's and the critic's variables. */
  readonly optimizer: AdamW;
  /** Sampling and shuffling randomness (saved in checkpoints). */
  readonly rng: Rng;
  private readonly ptxData: ArrayLike<number> | undefined;
  /** Things this trainer created or loaded and frees in {@link PPOTrainer.dispose}. */
  private readonly owned: { dispose(): void }[] = [];
  /** Steps and episodes so far. */
  progress: PPOProgress = { step: 0, episode: 0 };
  /** The critic worker (null: in-process; undefined: not resolved yet). */
  private cw: CriticWorker | null | undefined;

  /** Validates options (throws {@link ConfigError}), creates the reference, critic and optimizer. */
  constructor(options: PPOTrainerOptions) {
    this.options = resolvePPOOptions(options);
    this.policy = options.policy;
    this.reward = options.reward;
    this.tokenizer = options.tokenizer;
    this.ref = options.ref ?? this.own(options.policy.clone());
    this.critic = this.makeCritic(options);
    const o = this.options;
    this.kl = o.klTarget === undefined
      ? new FixedKLController(o.klCoef)
      : new AdaptiveKLController({ initKlCoef: o.klCoef, target: o.klTarget, horizon: o.klHorizon });
    this.optimizer = new AdamW([...this.policy.trainableVariables, ...criticVariables(this.critic)], {
      learningRate: o.learningRate, epsilon: o.adamEpsilon, epsilonPlacement: o.adamEpsilonPlacement, weightDecay: 0,
    });
    this.rng = new Rng(o.seed);
    this.ptxData = options.ptxData;
  }

  private own<T extends { dispose(): void }>(x: T): T {
    this.owned.push(x);
    return x;
  }

  private makeCritic(options: PPOTrainerOptions): Critic {
    const v = options.valueModel ?? 'separate';
    if (v instanceof RewardModel) return { kind: 'separate', model: v };
    if (v === 'shared') {
      const head = zeroValueHead(this.policy.config.dModel);
      this.own({ dispose: () => tf.dispose([head.weight, head.bias]) });
      return { kind: 'shared', head };
    }
    if (this.reward instanceof RewardModel) return { kind: 'separate', model: this.own(this.reward.clone()) };
    const model = this.own(RewardModel.fromPolicy(this.policy));
    tf.tidy(() => model.headWeight.assign(tf.zerosLike(model.headWeight))); // zero value head: every value starts at 0 (tidy frees the zeros)
    return { kind: 'separate', model };
  }

  /**
   * One PPO iteration on these prompts (the rollout batch); returns its stats. The stages, numbered
   * as in docs/guides/ppo.md, each live in their own module under `src/ppo/`. With the `dialogue`
   * option the prompts are conversations and stages 1 and 3 are the multi-turn ones.
   */
  async step(prompts: readonly PPOPrompt[]): Promise<PPOStats> {
    const o = this.options;
    const n = this.progress.step + 1;
    const t0 = performance.now();
    const talk = o.dialogue === undefined ? undefined //                                                      1. rollout
      : await dialogueRollout(this.policy, prompts, this.tokenizer, o, o.dialogue, this.rng);
    const ro: Rollout = talk ?? await rollout(this.policy, prompts as readonly string[], this.tokenizer, o, this.rng);
    const t1 = performance.now();
    const plan = minibatchPlan(ro.batch.batch, o, this.rng); //                                               every epoch's minibatches
    const { old, refLogProbs, scores } = await this.evaluate(ro, talk, plan[0] as number[][], n); //          1. old log-probs, 2. reference, 3. score, 5. values
    const klCoef = this.kl.value;
    const adv = await computeAdvantages({ //                                                                  4. rewards, 6. advantages
      logProbs: old.logProbs, refLogProbs, values: old.values, mask: ro.responseMask, scores: scores.final,
      ...(scores.tokenScores && { tokenScores: scores.tokenScores }),
      batch: ro.batch.batch, length: ro.responseLength, klCoef, estimator: o.klEstimator,
      whitenRewards: o.whitenRewards, gamma: o.gamma, lam: o.lam,
    }, `PPOTrainer step ${n}`);
    const t2 = performance.now();
    const update = await this.update({ //                                                                     7. update
      policy: this.policy, critic: this.critic, opt: this.optimizer, ro, plan, o, rng: this.rng, ptxData: this.ptxData, logger: o.logger, step: n,
      targets: { oldLogProbs: old.logProbs, oldValues: old.values, advantages: adv.advantages, returns: adv.returns },
    });
    this.kl.update(mean(adv.seqKl), ro.batch.batch); //                                                       8. KL controller
    this.progress = { step: n, episode: this.progress.episode + ro.batch.batch };
    const record: StepRecord = {
      rollout: ro, oldLogProbs: old.logProbs, oldValues: old.values, scores, advantages: adv, update, klCoef, learningRate: o.learningRate,
      progress: this.progress, seconds: { rollout: (t1 - t0) / 1000, score: (t2 - t1) / 1000, update: (performance.now() - t2) / 1000 },
    };
    return reportStep(stepStats(record), record, o, this.tokenizer);
  }

  /**
   * Stages 1 (old log-probs), 2, 3 and 5 on the epoch-1 minibatches `chunks`: in-process, or with the
   * critic worker computing values and reward-model scores while this thread computes log-probs.
   */
  private async evaluate(ro: Rollout, talk: (Rollout & { dialogue: DialogueRolloutInfo }) | undefined, chunks: number[][], n: number) {
    const o = this.options;
    const cw = await this.criticWorker();
    const rmThere = cw !== undefined && talk === undefined && this.reward instanceof RewardModel;
    const split = cw === undefined ? undefined
      : await evaluateSplit(cw, this.policy, this.ref, ro, chunks, o.temperature, rmThere ? { model: this.reward as RewardModel, tokenizer: this.tokenizer } : undefined);
    const old = split?.old ?? await evaluateRollout(this.policy, this.critic, ro, chunks, o.temperature);
    const refLogProbs = split?.refLogProbs ?? await referenceLogProbs(this.ref, ro, chunks, o.temperature);
    const scores: DialogueScores = split?.rawScores ? finishScores(split.rawScores, ro, o, n)
      : talk === undefined || o.dialogue === undefined ? await scoreRollout(this.reward, ro, this.tokenizer, o, n)
        : await scoreDialogue(this.reward, talk, this.tokenizer, o, o.dialogue, n);
    return { old, refLogProbs, scores };
  }

  /** Stage 7, in-process or split with the critic worker. */
  private async update(args: UpdateArgs): Promise<UpdateStats> {
    const cw = await this.criticWorker();
    return cw === undefined ? ppoUpdate(args) : ppoUpdateSplit(args, cw, this.policy.trainableVariables.length);
  }

  /** The critic worker when PPO runs on two threads (resolved at the first step), refreshed; else undefined. */
  private async criticWorker(): Promise<CriticWorker | undefined> {
    if (this.cw === undefined) {
      const o = this.options;
      const n = await resolveWorkerCount('PPOTrainerOptions.workers', o.workers, 2);
      if (n > 1 && this.critic.kind === 'shared') o.logger.log('info', 'PPO runs in-process: the critic worker needs a separate critic (valueModel "shared")');
      this.cw = n > 1 && this.critic.kind === 'separate' ? new CriticWorker({
        critic: this.critic.model, ...(this.reward instanceof RewardModel && { reward: this.reward }), opt: this.optimizer,
        first: this.policy.trainableVariables.length, logger: o.logger,
        optimizer: { learningRate: o.learningRate, epsilon: o.adamEpsilon, epsilonPlacement: o.adamEpsilonPlacement, weightDecay: 0 },
      }) : null;
    }
    if (this.cw === null) return undefined;
    await this.cw.refresh();
    return this.cw;
  }

  /** Memory of the critic worker thread (empty when PPO runs in-process or it has not started). */
  async workerMemory(): Promise<WorkerMemory[]> {
    return this.cw ? this.cw.memory() : [];
  }

  /** Runs `steps` PPO steps, taking `batchSize` prompts per step in order (cycling through them). */
  async train(prompts: readonly PPOPrompt[], options: PPOTrainOptions): Promise<PPOStats[]> {
    if (!Array.isArray(prompts) || prompts.length === 0) throw new InputError('prompts', prompts, 'must be a non-empty array of strings');
    const steps = checkInteger('steps', options.steps, 1);
    const history: PPOStats[] = [];
    const B = this.options.batchSize;
    const o = this.options;
    for (let i = 0; i < steps; i++) {
      const start = ((this.progress.step * B) % prompts.length);
      const batch = Array.from({ length: B }, (_, k) => prompts[(start + k) % prompts.length] as PPOPrompt);
      const stats = await this.step(batch);
      history.push(stats);
      o.logger.progress?.({ task: 'ppo', done: i + 1, total: steps, unit: 'step', info: { score: stats['objective/scores'], kl: stats['objective/kl'] } });
      await options.onStep?.(stats);
    }
    return history;
  }

  /**
   * Saves everything needed to resume: `policy/`, `ref/`, `critic/` (separate critic), and the optimizer
   * moments, value head, KL coefficient, RNG state and counters (`trainer.safetensors`, `trainer.json`).
   * The folder is written atomically as a whole: a crash mid-save leaves the previous checkpoint.
   */
  async save(dir: string): Promise<void> {
    const { logger: _l, ...options } = this.options;
    const json = {
      format: PPO_CHECKPOINT_FORMAT, progress: { ...this.progress }, kl: this.kl.getState(), rng: this.rng.getState(),
      options, critic: this.critic.kind,
    };
    await writePPOCheckpoint(dir, {
      json, policy: this.policy, ref: this.ref, optimizer: this.optimizer.exportState(),
      ...(this.critic.kind === 'separate' ? { critic: this.critic.model } : { valueHead: this.critic.head }),
    });
  }

  /**
   * Restores a trainer saved by {@link PPOTrainer.save}. The reward and tokenizer are not saved (a
   * reward may be a function): pass them again. Training continues exactly where it stopped.
   */
  static async load(dir: string, with_: PPOLoadOptions): Promise<PPOTrainer> {
    const state = await readPPOCheckpoint(dir);
    const { policy, ref, critic } = state;
    const trainer = new PPOTrainer({
      ...state.json.options, policy, ref, reward: with_.reward, tokenizer: with_.tokenizer,
      valueModel: critic ?? 'shared',
      ...(with_.logger ? { logger: with_.logger } : {}), ...(with_.ptxData ? { ptxData: with_.ptxData } : {}),
      ...(with_.dialogue ? { dialogue: with_.dialogue } : {}), ...(with_.workers !== undefined ? { workers: with_.workers } : {}),
    });
    trainer.owned.push(policy, ref, ...(critic ? [critic] : []));
    if (trainer.critic.kind === 'shared' && state.valueHead) {
      const { head } = trainer.critic;
      const vh = state.valueHead;
      tf.tidy(() => {
        head.weight.assign(tf.tensor(vh.weight.data, vh.weight.shape, 'float32'));
        head.bias.assign(tf.tensor(vh.bias.data, vh.bias.shape, 'float32'));
      });
    }
    trainer.optimizer.importState(state.optimizer);
    trainer.kl.setState(state.json.kl);
    trainer.rng.setState(state.json.rng);
    trainer.progress = { ...state.json.progress };
    return trainer;
  }

  /** Frees what the trainer created (reference clone, critic, optimizer moments, the critic worker); not the user's models. */
  dispose(): void {
    void this.cw?.dispose();
    this.cw = undefined;
    this.optimizer.dispose();
    for (const x of this.owned) x.dispose();
  }
}
