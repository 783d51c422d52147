/**
 * What each stage of `RlhfPipeline` returns, and the data and result of a whole run.
 * @module
 */
import type { CollectSummary } from '../feedback/collect/collector';
import type { DPOTrainerOptions } from '../dpo/options';
import type { DPOStats, DPOStepStats } from '../dpo/stats';
import type { PPOStats } from '../ppo/stats';
import type { RewardNormalization } from '../reward/reward-model';
import type { RewardStats } from '../reward/reward-trainer';
import type { SFTEvaluation } from '../sft/sft-trainer';
import type { SFTInput } from '../sft/examples';

/** What `RlhfPipeline.sft` did. */
export interface SFTStageResult {
  /** Optimizer steps taken. */
  steps: number;
  /** Loss of the last step (nats per completion token). */
  finalLoss: number;
  /** Held-out evaluation before training (when held-out examples were given). */
  before?: SFTEvaluation;
  /** Held-out evaluation after training (when held-out examples were given). */
  after?: SFTEvaluation;
}

/** What `RlhfPipeline.trainRewardModel` did. */
export interface RewardStageResult {
  /** Ranking records trained on. */
  trainRecords: number;
  /** Ranking records held out. */
  heldOutRecords: number;
  /** Held-out pairwise stats before this stage's training (absent when nothing is held out). */
  before?: RewardStats;
  /** Held-out pairwise stats after training (absent when nothing is held out). */
  after?: RewardStats;
  /** The score normalisation fitted on the training responses (mean 0, std 1). */
  normalization: RewardNormalization;
}

/** What `RlhfPipeline.ppo` did. */
export interface PPOStageResult {
  /** Stats of every PPO step. */
  stats: PPOStats[];
  /** Mean reward-model score of the first step's rollouts. */
  firstScore: number;
  /** Mean reward-model score of the last step's rollouts. */
  lastScore: number;
  /** Mean KL to the reference (nats per sequence) at the last step. */
  lastKl: number;
}

/** Settings of `RlhfPipeline.dpo`: {@link DPOTrainerOptions} (less the models and logger) plus epochs. */
export type PipelineDPOOptions = Omit<DPOTrainerOptions, 'policy' | 'ref' | 'tokenizer' | 'logger'> & {
  /** Passes over the training comparisons. Default `1`. */
  epochs?: number;
};

/** What `RlhfPipeline.dpo` did. */
export interface DPOStageResult {
  /** Stats of every DPO step. */
  stats: DPOStepStats[];
  /** Ranking records trained on. */
  trainRecords: number;
  /** Ranking records held out (the reward stage's split, by a hash of the prompt). */
  heldOutRecords: number;
  /** Held-out DPO stats before training (absent when nothing is held out). */
  before?: DPOStats;
  /** Held-out DPO stats after training (absent when nothing is held out). */
  after?: DPOStats;
}

/** The data of `RlhfPipeline.run`. */
export interface RlhfPipelineData {
  /** SFT demonstrations (`{ prompt, completion }`, chat or tokenized). */
  demonstrations: readonly SFTInput[];
  /** Held-out demonstrations to report the SFT loss on. Optional. */
  heldOutDemonstrations?: readonly SFTInput[];
  /** Prompts whose sampled responses the labeller ranks. */
  comparisonPrompts: readonly string[];
  /** Prompts for the PPO rollouts (cycled through). */
  ppoPrompts: readonly string[];
}

/** Every stage's result from `RlhfPipeline.run`. */
export interface RlhfPipelineResult {
  /** Stage 1. */
  sft: SFTStageResult;
  /** Stage 2a. */
  collect: CollectSummary;
  /** Stage 2b. */
  reward: RewardStageResult;
  /** Stage 3. */
  ppo: PPOStageResult;
}
