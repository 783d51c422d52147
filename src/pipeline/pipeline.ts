/**
 * The InstructGPT recipe wired from the public classes, for users who want the defaults:
 *
 *   sft(demos) -> collect(prompts) -> trainRewardModel() -> ppo(prompts)
 *
 * Each stage is one method over one public trainer (`SFTTrainer`, `PreferenceCollector`,
 * `RewardTrainer`, `PPOTrainer`), so any stage can be replaced by your own code between calls.
 * @module
 */
import { InputError, RlhfError } from '../errors';
import { readAll, readRankings } from '../data/jsonl';
import type { RankingExample } from '../data/types';
import { PreferenceCollector, type CollectSummary } from '../feedback/collect/collector';
import { unitHash } from '../ops/hash';
import type { TransformerPolicy } from '../models/policy';
import { joinPath } from '../io/paths';
import { saveTokenizerFiles } from '../hf/tokenizer-files';
import { PPOTrainer } from '../ppo/ppo-trainer';
import { DPOTrainer } from '../dpo/dpo-trainer';
import type { PPOStats } from '../ppo/stats';
import { RewardModel, type RewardNormalization } from '../reward/reward-model';
import { RewardTrainer } from '../reward/reward-trainer';
import { SFTTrainer } from '../sft/sft-trainer';
import type { SFTInput } from '../sft/examples';
import { resolvePipelineOptions, type ResolvedPipelineOptions, type RlhfPipelineOptions } from './options';
import type {
  DPOStageResult, PipelineDPOOptions, PPOStageResult, RewardStageResult, RlhfPipelineData, RlhfPipelineResult, SFTStageResult,
} from './results';

export type {
  DPOStageResult, PipelineDPOOptions, PPOStageResult, RewardStageResult, RlhfPipelineData, RlhfPipelineResult, SFTStageResult,
} from './results';

/** Runs the stages of RLHF on one policy; see the module comment. Node.js (writes to `outDir`). */
export class RlhfPipeline {
  /** The policy every stage updates. */
  readonly policy: TransformerPolicy;
  /** Resolved options. */
  readonly options: ResolvedPipelineOptions;
  /** The reward model, once stage 2 has made or received one. */
  rewardModel: RewardModel | undefined;
  /** The frozen reference of the KL penalty: a copy of the policy taken when stage 3 first runs. */
  reference: TransformerPolicy | undefined;
  private stageSeed = 0;
  private readonly ownsRewardModel: boolean;

  /** Validates the options (throws `ConfigError`). */
  constructor(options: RlhfPipelineOptions) {
    this.options = resolvePipelineOptions(options);
    this.policy = options.policy;
    this.rewardModel = options.rewardModel;
    this.ownsRewardModel = options.rewardModel === undefined;
  }

  private nextSeed(): number {
    this.stageSeed += 1;
    return this.options.seed * 1000 + this.stageSeed;
  }

  /**
   * Writes the tokenizer's Hugging Face files into each checkpoint folder, so `loadTokenizer(dir)`
   * reads it back (a separate atomic write after the checkpoint's own: a kill between the two leaves
   * the previous tokenizer files, which are the same tokenizer). A custom tokenizer class with no
   * Hugging Face form is skipped with a warning.
   */
  private async saveTokenizer(...names: string[]): Promise<void> {
    try {
      for (const name of names) await saveTokenizerFiles(this.path(name), this.options.tokenizer);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      this.options.logger.log('warn', `RlhfPipeline: the tokenizer is not saved with the checkpoints (${e.message})`);
    }
  }

  private path(name: string): string {
    return joinPath(this.options.outDir, name);
  }

  /** Stage 1: supervised fine-tuning on demonstrations; saves `sft-policy/`. */
  async sft(examples: readonly SFTInput[], heldOut: readonly SFTInput[] = []): Promise<SFTStageResult> {
    const o = this.options;
    o.logger.log('info', `stage 1: SFT on ${examples.length} demonstrations`);
    const trainer = new SFTTrainer({ seed: this.nextSeed(), ...o.sft, policy: this.policy, tokenizer: o.tokenizer, logger: o.logger });
    try {
      const before = heldOut.length > 0 ? await trainer.evaluate(heldOut) : undefined;
      const history = await trainer.train(examples, { epochs: o.sftEpochs });
      const after = heldOut.length > 0 ? await trainer.evaluate(heldOut) : undefined;
      await this.policy.save(this.path('sft-policy'));
      await this.saveTokenizer('sft-policy');
      const last = history.at(-1);
      return { steps: history.length, finalLoss: last?.loss ?? Number.NaN, ...(before && { before }), ...(after && { after }) };
    } finally {
      trainer.dispose();
    }
  }

  /**
   * Stage 2a: for each prompt not yet labelled, samples K responses from the current policy and asks
   * the labeller to rank them; appends to `comparisons.jsonl` (resumable). Returns the collector's
   * summary.
   */
  async collect(prompts: readonly string[], options: { signal?: AbortSignal } = {}): Promise<CollectSummary> {
    const o = this.options;
    if (o.labeler === undefined) throw new RlhfError('RlhfPipeline.collect needs the `labeler` option (a WebLabeler, TerminalLabeler, JudgeLabeler or your own)');
    o.logger.log('info', `stage 2: collecting comparisons on ${prompts.length} prompts from ${o.labeler.name}`);
    const collector = new PreferenceCollector({
      policy: this.policy, tokenizer: o.tokenizer, labeler: o.labeler, file: this.path('comparisons.jsonl'),
      seed: this.nextSeed(), logger: o.logger,
      ...(o.collect?.k !== undefined && { k: o.collect.k }),
      ...(o.collect?.sampling !== undefined && { sampling: o.collect.sampling }),
      ...(o.collect?.moderation !== undefined && { moderation: o.collect.moderation }),
      criteria: [...(o.collect?.criteria ?? [])],
    });
    return collector.collect([...prompts], options.signal === undefined ? {} : { signal: options.signal });
  }

  /** Every ranking record collected so far (`comparisons.jsonl`; none when it does not exist yet). */
  async comparisons(): Promise<RankingExample[]> {
    const file = this.path('comparisons.jsonl');
    const { access } = await import('node:fs/promises');
    try {
      await access(file);
    } catch {
      return [];
    }
    return readAll(readRankings(file));
  }

  /**
   * Stage 2b: trains the reward model on ranking records (default: all of `comparisons.jsonl`),
   * holding out a fraction (chosen by a hash of the prompt, so stable across rounds) to measure accuracy; fits the score normalisation; saves `reward-model/`.
   * The first call creates the model from the current policy (InstructGPT initialises it from SFT);
   * later calls continue training it.
   */
  async trainRewardModel(records?: readonly RankingExample[]): Promise<RewardStageResult> {
    const o = this.options;
    const data = records ?? (await this.comparisons());
    if (data.length === 0) {
      throw new InputError('records', data.length, `the reward model needs at least one ranking record (none given, and ${this.path('comparisons.jsonl')} has none: run collect first, or the labeller skipped every item)`);
    }
    const { train, held } = this.splitHeldOut(data);
    this.rewardModel ??= RewardModel.fromPolicy(this.policy);
    const rm = this.rewardModel;
    o.logger.log('info', `stage 2: reward model on ${train.length} ranking records (${held.length} held out)`);
    const trainer = new RewardTrainer({ seed: this.nextSeed(), ...o.reward, model: rm, tokenizer: o.tokenizer, logger: o.logger });
    try {
      const before = held.length > 0 ? await trainer.evaluate(held) : undefined;
      await trainer.train(train, { epochs: o.rewardEpochs });
      const after = held.length > 0 ? await trainer.evaluate(held) : undefined;
      const normalization = await this.normalizeOn(rm, train);
      await rm.save(this.path('reward-model'));
      await this.saveTokenizer('reward-model');
      return { trainRecords: train.length, heldOutRecords: held.length, normalization, ...(before && { before }), ...(after && { after }) };
    } finally {
      trainer.dispose();
    }
  }

  /**
   * Splits ranking records into training and held-out ones. A record is held out by a hash of its
   * prompt, so it stays held out as rounds add records. Throws an `InputError` when none is left to train on.
   */
  private splitHeldOut(data: readonly RankingExample[]): { train: RankingExample[]; held: RankingExample[] } {
    const { heldOutFraction } = this.options;
    const isHeld = (r: RankingExample) => unitHash(r.prompt) < heldOutFraction;
    const held = data.filter(isHeld);
    const train = data.filter((r) => !isHeld(r));
    if (train.length === 0) throw new InputError('records', data.length, `every record fell in the held-out ${heldOutFraction} fraction; lower reward.heldOutFraction`);
    return { train, held };
  }

  /** Fits mean 0 / std 1 on the responses the labeller saw (samples of the policy being aligned). */
  private async normalizeOn(rm: RewardModel, records: readonly RankingExample[]): Promise<RewardNormalization> {
    const tok = this.options.tokenizer;
    const prompts: number[][] = [];
    const responses: number[][] = [];
    for (const r of records) {
      const p = tok.encode(r.prompt);
      for (const text of r.responses) {
        prompts.push(p);
        responses.push([...tok.encode(text), tok.eosId]);
      }
    }
    return rm.normalize(prompts, responses);
  }

  /**
   * Stage 3: PPO against the reward model with the KL penalty to the reference (a copy of the policy
   * taken on the first call, i.e. the SFT policy); saves a resumable checkpoint to `ppo/`.
   */
  async ppo(prompts: readonly string[]): Promise<PPOStageResult> {
    const o = this.options;
    const rm = this.rewardModel;
    if (rm === undefined) throw new RlhfError('RlhfPipeline.ppo needs a reward model: run trainRewardModel first or pass `rewardModel`');
    this.reference ??= this.policy.clone();
    o.logger.log('info', `stage 3: PPO for ${o.ppoSteps} steps on ${prompts.length} prompts`);
    const trainer = new PPOTrainer({
      seed: this.nextSeed(), ...o.ppo, policy: this.policy, reward: rm, ref: this.reference, tokenizer: o.tokenizer, logger: o.logger,
    });
    try {
      const stats = await trainer.train(prompts, { steps: o.ppoSteps });
      await trainer.save(this.path('ppo'));
      await this.saveTokenizer('ppo', 'ppo/policy');
      const first = stats[0] as PPOStats;
      const last = stats.at(-1) as PPOStats;
      return { stats, firstScore: first['objective/scores'], lastScore: last['objective/scores'], lastKl: last['objective/kl'] };
    } finally {
      trainer.dispose();
    }
  }

  /**
   * The alternative to stages 2b and 3: DPO directly on the ranking records (default: all of
   * `comparisons.jsonl`; K-way rankings as pairs, ties dropped), against the same reference as PPO
   * (a copy of the policy taken on the first call, i.e. the SFT policy). Holds out the reward
   * stage's fraction by a hash of the prompt; saves a resumable checkpoint to `dpo/`.
   */
  async dpo(records?: readonly RankingExample[], options: PipelineDPOOptions = {}): Promise<DPOStageResult> {
    const o = this.options;
    const data = records ?? (await this.comparisons());
    if (data.length === 0) throw new InputError('records', data.length, `DPO needs at least one ranking record (none given, and ${this.path('comparisons.jsonl')} has none: run collect first)`);
    const { train, held } = this.splitHeldOut(data);
    this.reference ??= this.policy.clone();
    o.logger.log('info', `DPO on ${train.length} ranking records (${held.length} held out)`);
    const { epochs, ...dpoOptions } = options;
    const trainer = new DPOTrainer({ seed: this.nextSeed(), ...dpoOptions, policy: this.policy, ref: this.reference, tokenizer: o.tokenizer, logger: o.logger });
    try {
      const before = held.length > 0 ? await trainer.evaluate(held) : undefined;
      const stats = await trainer.train(train, { epochs: epochs ?? 1 });
      const after = held.length > 0 ? await trainer.evaluate(held) : undefined;
      await trainer.save(this.path('dpo'));
      await this.saveTokenizer('dpo', 'dpo/policy');
      return { stats, trainRecords: train.length, heldOutRecords: held.length, ...(before && { before }), ...(after && { after }) };
    } finally {
      trainer.dispose();
    }
  }

  /**
   * Runs the whole recipe: SFT, comparisons, reward model, PPO. Returns every stage's result.
   * @param data - Demonstrations (and optionally held-out ones) for SFT, prompts to collect
   *   comparisons on, prompts for PPO.
   */
  async run(data: RlhfPipelineData): Promise<RlhfPipelineResult> {
    const sft = await this.sft(data.demonstrations, data.heldOutDemonstrations ?? []);
    const collect = await this.collect(data.comparisonPrompts);
    const reward = await this.trainRewardModel();
    const ppo = await this.ppo(data.ppoPrompts);
    return { sft, collect, reward, ppo };
  }

  /** Frees the reference and the reward model this pipeline created (not one passed in, nor the policy). */
  dispose(): void {
    if (this.ownsRewardModel) this.rewardModel?.dispose();
    this.reference?.dispose();
    this.rewardModel = undefined;
    this.reference = undefined;
  }
}
