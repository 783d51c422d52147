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
