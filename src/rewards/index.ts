/**
 * Verifiable rewards: answer extraction, matching and reward functions for GRPO / RLOO / PPO.
 * @module
 */
export { extractGsm8kAnswer, extractBoxed, extractLastNumber, extractAnswer, parseNumber } from './extract';
export type { AnswerFormat } from './extract';
export { answersMatch, accuracyReward, formatReward, combineRewards } from './rewards';
export type { ColumnRewardSample, ColumnRewardFunction, MatchOptions, AccuracyRewardOptions } from './rewards';
