/**
 * Options of {@link RlhfPipeline}: one block per stage, each passed through to the public trainer of
 * that stage, so every default is the trainer's own and is documented once, there.
 * @module
 */
import { ConfigError } from '../errors';
import { checkInteger, checkNumber, checkSeed } from '../ops/validate';
import type { Labeler } from '../feedback/types';
import type { GenerateOptions } from '../generation/generate';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import type { TransformerPolicy } from '../models/policy';
import type { PPOTrainerOptions } from '../ppo/options';
import type { RewardModel } from '../reward/reward-model';
import type { RewardTrainerOptions } from '../reward/trainer-options';
import type { SFTTrainerOptions } from '../sft/options';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { Moderator } from '../moderation/types';

/** Stage 1 settings: {@link SFTTrainerOptions} (less policy and tokenizer) plus the number of epochs. */
export type PipelineSFTOptions = Omit<SFTTrainerOptions, 'policy' | 'tokenizer' | 'logger'> & {
  /** Passes over the demonstrations. Default `1`. */
  epochs?: number;
};

/** How the comparisons of stage 2 are collected (see `PreferenceCollector`). */
export interface PipelineCollectOptions {
  /** Responses sampled per prompt for the labeller to rank (2 to 9). Default `4`. */
  k?: number;
  /** Sampling of the K responses (`maxNewTokens`, `temperature`, ...). Default: the collector's. */
  sampling?: Omit<GenerateOptions, 'seed' | 'stopTokens'>;
  /** Criteria the labeller rates besides ranking. Default: none. */
  criteria?: readonly string[];
  /** Skips flagged prompts (recorded in the skipped file with the reason); see `PreferenceCollectorOptions.moderation`. Default: none. */
  moderation?: Moderator;
}

/** Stage 2 settings: {@link RewardTrainerOptions} (less model and tokenizer) plus data handling. */
export type PipelineRewardOptions = Omit<RewardTrainerOptions, 'model' | 'tokenizer' | 'logger'> & {
  /** Passes over the training comparisons. Default `1`. */
  epochs?: number;
  /** Fraction of comparison records held out to measure accuracy, in [0, 0.5]. Default `0.1`. */
  heldOutFraction?: number;
};

/** Stage 3 settings: {@link PPOTrainerOptions} (less policy, reward, reference, tokenizer) plus steps. */
export type PipelinePPOOptions = Omit<PPOTrainerOptions, 'policy' | 'reward' | 'ref' | 'tokenizer' | 'logger'> & {
  /** PPO steps. Default `20`. */
  steps?: number;
};

/** Options of {@link RlhfPipeline}. */
export interface RlhfPipelineOptions {
  /** The pretrained policy; SFT and PPO update it in place. Required. */
  policy: TransformerPolicy;
  /** Tokenizer of the policy and the reward model. Required. */
  tokenizer: Tokenizer;
  /**
   * Folder for everything the run writes: `sft-policy/`, `comparisons.jsonl`, `reward-model/`,
   * `ppo/` (a resumable PPO checkpoint). Required (Node.js).
   */
  outDir: string;
  /** Ranks the sampled responses in stage 2: a person (`WebLabeler`), a judge, or a simulation. Required for {@link RlhfPipeline.collect}. */
  labeler?: Labeler;
  /** Reward model to continue training in stage 2. Default: created from the SFT policy (`RewardModel.fromPolicy`). */
  rewardModel?: RewardModel;
  /** Stage 1 settings. Default: the SFTTrainer's defaults, one epoch. */
  sft?: PipelineSFTOptions;
  /** How comparisons are collected. Default: K = 4 and the collector's sampling. */
  collect?: PipelineCollectOptions;
  /** Stage 2 settings. Default: the RewardTrainer's defaults, one epoch, 10% held out. */
  reward?: PipelineRewardOptions;
  /** Stage 3 settings. Default: the PPOTrainer's defaults, 20 steps. */
  ppo?: PipelinePPOOptions;
  /** Base seed; each stage derives its own from it unless its options set one. Default `0`. */
  seed?: number;
  /** Receives every stage's messages and progress. Default: silent. */
  logger?: Logger;
}

/** Options with the pipeline's own defaults filled in (stage options stay the trainers' to resolve). */
export interface ResolvedPipelineOptions extends RlhfPipelineOptions {
  /** Always set. */
  seed: number;
  /** Always set. */
  logger: Logger;
  /** Always set. */
  sftEpochs: number;
  /** Always set. */
  rewardEpochs: number;
  /** Always set. */
  heldOutFraction: number;
  /** Always set. */
  ppoSteps: number;
}

/** Validates the pipeline's own fields once; the trainers validate their stage options. */
export function resolvePipelineOptions(o: RlhfPipelineOptions): ResolvedPipelineOptions {
  if (typeof o.outDir !== 'string' || o.outDir.length === 0) throw new ConfigError('outDir', o.outDir, 'must be a non-empty folder path');
  return {
    ...o,
    seed: checkSeed('seed', o.seed ?? 0),
    logger: o.logger ?? silentLogger,
    sftEpochs: checkInteger('sft.epochs', o.sft?.epochs ?? 1, 1),
    rewardEpochs: checkInteger('reward.epochs', o.reward?.epochs ?? 1, 1),
    heldOutFraction: checkNumber('reward.heldOutFraction', o.reward?.heldOutFraction ?? 0.1, { ge: 0, le: 0.5 }),
    ppoSteps: checkInteger('ppo.steps', o.ppo?.steps ?? 20, 1),
  };
}
