/**
 * `PPOTrainer`: RLHF with PPO against a reward model or function, with a per-token KL penalty to a
 * frozen reference policy (InstructGPT; Ziegler et al. 2019). `step()` reads like the paper: one call
 * per stage, each stage in its own module.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import { checkInteger } from '../train/validate';
import { Rng } from '../ops/random';
import { AdamW } from '../optim/adamw';
import { TransformerPolicy } from '../models/policy';
import type { Logger } from '../logging/logger';
import { joinPath, PPO_CHECKPOINT_FORMAT, readTrainerState, writeTrainerState } from './checkpoint';
import { RewardModel } from '../reward/reward-model';
import { AdaptiveKLController, FixedKLController, type KLController } from '../rl/kl-controllers';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { computeAdvantages } from './advantages';
import { evaluateRollout, referenceLogProbs } from './evaluate-rollout';
import { criticVariables, zeroValueHead, type Critic } from './forward';
import { resolvePPOOptions, type PPOTrainerOptions, type ResolvedPPOOptions, type RewardFunction } from './options';
import { rollout } from './rollout';
import { scoreRollout } from './score';
import { explainedVariance, mean, type PPOStats } from './stats';
import { minibatchPlan, ppoUpdate } from './update';
import { logSamples } from '../report/metrics-logger';

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
}

/** Mutable training state that a checkpoint must restore. */
export interface PPOProgress {
  /** PPO steps taken. */
  step: number;
  /** Episodes (responses) seen. */
  episode: number;
}

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
    model.headWeight.assign(tf.zerosLike(model.headWeight)); // value head init zero (recipe point 10)
    return { kind: 'separate', model };
  }

  /** One PPO iteration on these prompts (the rollout batch); returns its stats. */
  async step(prompts: readonly string[]): Promise<PPOStats> {
    const o = this.options;
    const where = `PPOTrainer step ${this.progress.step + 1}`;
    const t0 = performance.now();
    const ro = await rollout(this.policy, prompts, this.tokenizer, o, this.rng); //                       1. generate
    const t1 = performance.now();
    const plan = minibatchPlan(ro.batch.batch, o, this.rng);
    const old = await evaluateRollout(this.policy, this.critic, ro, plan[0] as number[][], o.temperature); // old log-probs, values
    const refLogProbs = await referenceLogProbs(this.ref, ro, plan[0] as number[][], o.temperature); //     2. reference
    const scores = await scoreRollout(this.reward, ro, this.tokenizer, o, this.progress.step + 1); //        3. score
    const beta = this.kl.value;
    const adv = await computeAdvantages({ //                                                              4-6. KL rewards, GAE
      logProbs: old.logProbs, refLogProbs, values: old.values, mask: ro.responseMask, scores: scores.final,
      batch: ro.batch.batch, length: ro.responseLength, klCoef: beta, estimator: o.klEstimator,
      whitenRewards: o.whitenRewards, gamma: o.gamma, lam: o.lam,
    }, where);
    const t2 = performance.now();
    const upd = await ppoUpdate({ //                                                                      7. update
      policy: this.policy, critic: this.critic, opt: this.optimizer, ro, plan, o, rng: this.rng,
      targets: { oldLogProbs: old.logProbs, oldValues: old.values, advantages: adv.advantages, returns: adv.returns },
      ptxData: this.ptxData, logger: o.logger, step: this.progress.step + 1,
    });
    const meanKl = mean(adv.seqKl);
    this.kl.update(meanKl, ro.batch.batch); //                                                            8. KL controller
    this.progress = { step: this.progress.step + 1, episode: this.progress.episode + ro.batch.batch };
    if (meanKl < 0) o.logger.log('warn', `negative mean KL ${meanKl.toFixed(4)}: check temperature and that top-k/top-p are off`, { step: this.progress.step });
    const t3 = performance.now();
    const seqLogp = ro.responseIds.map((_, b) => {
      let s = 0;
      for (let t = 0; t < ro.responseLength; t++) s += (ro.responseMask[b * ro.responseLength + t] as number) * (old.logProbs[b * ro.responseLength + t] as number);
      return s;
    });
    const nonScore = mean(adv.seqNonScore);
    const scoreMean = mean(scores.final);
    const { firstApproxKl, firstRatio: _r, ...updateStats } = upd;
    const stats: PPOStats = {
      'objective/kl': meanKl, 'objective/kl_coef': beta, 'objective/entropy': -mean(seqLogp),
      'objective/non_score_reward': nonScore, 'objective/scores': scoreMean, 'objective/rlhf_reward': scoreMean + nonScore,
      ...updateStats,
      'val/num_eos_tokens': ro.hitStop.filter(Boolean).length,
      'val/explained_variance': explainedVariance(old.values, adv.returns, ro.responseMask),
      'val/response_length': mean(ro.responseIds.map((r) => r.length)),
      lr: o.learningRate, episode: this.progress.episode, step: this.progress.step,
      'policy/approxkl_first': firstApproxKl,
      'time/rollout': (t1 - t0) / 1000, 'time/score': (t2 - t1) / 1000, 'time/update': (t3 - t2) / 1000, 'time/total': (t3 - t0) / 1000,
    };
    o.logger.log('info', 'ppo step', { ...stats });
    if (o.sampleEvery > 0 && this.progress.step % o.sampleEvery === 0) {
      logSamples(o.logger, this.progress.step, ro.prompts.slice(0, o.sampleRows).map((prompt, b) => ({
        prompt, response: this.tokenizer.decode(ro.responseIds[b] as number[]), score: scores.final[b] as number, kl: adv.seqKl[b] as number,
      })));
    }
    return stats;
  }

  /** Runs `steps` PPO steps, taking `batchSize` prompts per step in order (cycling through them). */
  async train(prompts: readonly string[], options: PPOTrainOptions): Promise<PPOStats[]> {
    if (!Array.isArray(prompts) || prompts.length === 0) throw new InputError('prompts', prompts, 'must be a non-empty array of strings');
    const steps = checkInteger('steps', options.steps, 1);
    const history: PPOStats[] = [];
    const B = this.options.batchSize;
    const o = this.options;
    for (let i = 0; i < steps; i++) {
      const start = ((this.progress.step * B) % prompts.length);
      const batch = Array.from({ length: B }, (_, k) => prompts[(start + k) % prompts.length] as string);
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
   */
  async save(dir: string): Promise<void> {
    await this.policy.save(joinPath(dir, 'policy'));
    await this.ref.save(joinPath(dir, 'ref'));
    if (this.critic.kind === 'separate') await this.critic.model.save(joinPath(dir, 'critic'));
    const { logger: _l, ...options } = this.options;
    await writeTrainerState(dir, {
      format: PPO_CHECKPOINT_FORMAT, progress: { ...this.progress }, kl: this.kl.getState(), rng: this.rng.getState(),
      options, critic: this.critic.kind,
    }, this.optimizer.exportState(), this.critic.kind === 'shared' ? this.critic.head : undefined);
  }

  /**
   * Restores a trainer saved by {@link PPOTrainer.save}. The reward and tokenizer are not saved (a
   * reward may be a function): pass them again. Training continues exactly where it stopped.
   */
  static async load(dir: string, with_: PPOLoadOptions): Promise<PPOTrainer> {
    const state = await readTrainerState(dir);
    const policy = await TransformerPolicy.load(joinPath(dir, 'policy'));
    const ref = await TransformerPolicy.load(joinPath(dir, 'ref'));
    const critic = state.json.critic === 'separate' ? await RewardModel.load(joinPath(dir, 'critic')) : undefined;
    const trainer = new PPOTrainer({
      ...state.json.options, policy, ref, reward: with_.reward, tokenizer: with_.tokenizer,
      valueModel: critic ?? 'shared',
      ...(with_.logger ? { logger: with_.logger } : {}), ...(with_.ptxData ? { ptxData: with_.ptxData } : {}),
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

  /** Frees what the trainer created (reference clone, critic, optimizer moments); not the user's models. */
  dispose(): void {
    this.optimizer.dispose();
    for (const x of this.owned) x.dispose();
  }
}
