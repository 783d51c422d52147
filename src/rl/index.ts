/**
 * The functional PPO core: tensor-in / tensor-out building blocks for PPO and RLHF with any policy.
 * @module
 */
export { maskedMean, maskedVar, maskedWhiten, WHITEN_EPSILON } from './masked';
export { gae } from './gae';
export type { GaeOptions, GaeResult } from './gae';
export { ppoPolicyLoss, ppoValueLoss, entropyFromLogits } from './losses';
export type { PpoPolicyLossArgs, PpoPolicyLossResult, PpoValueLossArgs, PpoValueLossResult } from './losses';
export { klPenalty } from './kl';
export type { KlEstimator } from './kl';
export { FixedKLController, AdaptiveKLController } from './kl-controllers';
export type { KLController, KLControllerState, AdaptiveKLControllerOptions } from './kl-controllers';
export { perTokenRewards } from './rewards';
export type { PerTokenRewardsArgs } from './rewards';
export { dpoLoss, plackettLuceLoss } from './preference';
export type { DpoLossType, DpoLossArgs, DpoLossResult, PlackettLuceLossArgs, PlackettLuceLossResult } from './preference';
export { groupAdvantages, rlooAdvantages } from './group-advantages';
export type { RewardScaling, GroupAdvantagesOptions } from './group-advantages';
export { grpoLoss } from './grpo-loss';
export type { GrpoLossType, GrpoLossArgs, GrpoLossResult } from './grpo-loss';
