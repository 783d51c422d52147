/**
 * Supervised fine-tuning: {@link SFTTrainer} and the example formats it accepts.
 * @module
 */
export { SFTTrainer } from './sft-trainer';
export type { SFTTrainOptions, SFTStepStats, SFTEvaluation, SFTTrainerState } from './sft-trainer';
export { resolveSFTOptions } from './options';
export type { SFTTrainerOptions, ResolvedSFTOptions } from './options';
export { prepareSequences } from './examples';
export type { SFTInput, TokenizedSFTExample, TruncatePrompt, SFTSequence, PrepareOptions, PreparedSequences } from './examples';
export { sftBatch } from './batch';
export type { SFTBatch } from './batch';
