/**
 * tfjs-rlhf: the InstructGPT recipe (pretraining, SFT, reward modelling, PPO) for TypeScript, on
 * TensorFlow.js, in Node and the browser.
 * @packageDocumentation
 */
// Registers tfjs-core's gradients and chained ops before anything else runs.
import './tf';

// Errors
export { RlhfError, ConfigError, InputError, FileFormatError, BackendError, NonFiniteError } from './errors';

// Backends
export { useBackend, isNode } from './backends/use-backend';
export type { BackendName, UseBackendOptions } from './backends/use-backend';

// Logging
export { silentLogger, consoleLogger } from './logging/logger';
export type { Logger, LogLevel } from './logging/logger';

// Randomness
export { Rng } from './ops/random';
export type { RngState } from './ops/random';

// Tokenizers
export { ByteTokenizer } from './tokenizers/byte';
export { Gpt2Tokenizer } from './tokenizers/gpt2';
export type { Tokenizer, DecodeOptions } from './tokenizers/tokenizer';

// Models
export { TransformerPolicy } from './models/policy';
export type { TokenLogProbOptions } from './models/policy';
export { Transformer, parameterShapes } from './models/transformer';
export type { LayerCache, ForwardInputs, ForwardOutputs } from './models/transformer';
export { PRESETS, presetConfig, resolveConfig } from './models/config';
export type { TransformerConfig, ResolvedTransformerConfig, TransformerPreset, PresetName } from './models/config';
export { leftPad, promptResponseBatch, positionIds, attentionBias, MASK_BIAS } from './models/batch';
export type { PaddedBatch, PromptResponseBatch } from './models/batch';

// Generation
export { sampleFromLogits, logSoftmaxRow, resolveSampling } from './generation/sampling';
export type { SamplingOptions, SampledToken, ResolvedSampling } from './generation/sampling';
export type { GenerateOptions, GenerateResult } from './generation/generate';

// Checkpoint formats
export { encodeSafetensors, decodeSafetensors, MAX_SAFETENSORS_HEADER_BYTES } from './io/safetensors';
export type { NamedTensorData, SafetensorsContents } from './io/safetensors';

// Optimisation
export { AdamW } from './optim/adamw';
export type { AdamWOptions, AdamWState, EpsilonPlacement, StateTensor } from './optim/adamw';
export { clipByGlobalNorm, globalNorm } from './optim/clip';
export type { ClipResult } from './optim/clip';
export { constantSchedule, warmupCosineSchedule, linearSchedule } from './optim/schedule';
export type { LRSchedule, WarmupCosineOptions, LinearScheduleOptions } from './optim/schedule';

// Training
export { LMTrainer } from './train/lm-trainer';
export type { LMTrainerOptions, LMStepStats, LMTrainOptions, LMEvaluateOptions, LMEvaluation } from './train/lm-trainer';
export { optimizerStep } from './train/step';
export type { OptimizerStepOptions, OptimizerStepResult, StepLossFn, StepLoss } from './train/step';

// Data
export {
  readJsonl, readSFT, readPairs, readRankings, readChat, readAll, writeJsonlLine,
  parseSFT, parsePair, parseRanking, parseChat, preferencePairsFromRanking,
  tokenizeChat, tokenizeChatPrompt, chatPrompt, chatHeader,
} from './data/index';
export type {
  SFTExample, PreferencePair, RankingExample, ChatRole, ChatMessage, ChatExample, RecordLocation,
  JsonlSource, RecordParser, ReadJsonlOptions, ReadRankingsOptions, ParseRankingOptions, ChatTokens,
} from './data/index';

// Supervised fine-tuning
export { SFTTrainer, prepareSequences, sftBatch } from './sft/index';
export type {
  SFTTrainerOptions, SFTTrainOptions, SFTStepStats, SFTEvaluation, SFTTrainerState,
  SFTInput, TokenizedSFTExample, TruncatePrompt, SFTSequence, PrepareOptions, PreparedSequences, SFTBatch,
} from './sft/index';

// Reward modelling
export { RewardModel, lastTokenIndex } from './reward/reward-model';
export type { RewardModelOptions, RewardNormalization } from './reward/reward-model';
export { RewardTrainer } from './reward/reward-trainer';
export type { RewardTrainerOptions, RewardStats, RewardStepStats, RewardTrainOptions } from './reward/reward-trainer';
export { pairwiseLoss, groupComparisons } from './reward/pairwise';
export type { PromptGroup, ComparisonRecord } from './reward/pairwise';

// Functional RL core (tensor in / tensor out, for any policy)
export {
  maskedMean, maskedVar, maskedWhiten, WHITEN_EPSILON, gae, ppoPolicyLoss, ppoValueLoss, entropyFromLogits,
  klPenalty, FixedKLController, AdaptiveKLController, perTokenRewards,
} from './rl/index';
export type {
  GaeOptions, GaeResult, PpoPolicyLossArgs, PpoPolicyLossResult, PpoValueLossArgs, PpoValueLossResult, KlEstimator,
  KLController, KLControllerState, AdaptiveKLControllerOptions, PerTokenRewardsArgs,
} from './rl/index';

// PPO
export { PPOTrainer } from './ppo/ppo-trainer';
export type { PPOTrainOptions, PPOProgress, PPOLoadOptions } from './ppo/ppo-trainer';
export type { PPOTrainerOptions, RewardFunction, RewardSample, ResolvedPPOOptions } from './ppo/options';
export type { PPOStats } from './ppo/stats';
export type { Critic, ValueHead, SeparateCritic, SharedCritic } from './ppo/forward';

// Progress
export { progressLogger, formatProgress, formatDuration } from './logging/progress';
export type { ProgressLoggerOptions, ProgressStream } from './logging/progress';
export type { ProgressEvent } from './logging/logger';

// Metrics logging and training reports
export {
  metricsLogger, combineLoggers, logSamples, SAMPLES_MESSAGE, readMetrics, parseMetricsRecord,
  renderReport, writeReport, REPORT_CHARTS, runReportCli, REPORT_CLI_USAGE,
} from './report/index';
export type {
  MetricsLogger, MetricsLoggerOptions, ReportOptions, RenderedReport, WrittenReport, ReportChart,
  ReportCliIo, MetricRecord, SampleRow, SamplesRecord, MetricsHistory,
} from './report/index';

// Human feedback: labellers and the preference collector
export { DEFAULT_CRITERIA } from './feedback/types';
export type { Labeler, LabelRequest, Judgement, RankedJudgement, SkippedJudgement } from './feedback/types';
export { PreferenceCollector, promptId, skippedFileOf } from './feedback/collector';
export type { PreferenceCollectorOptions, CollectOptions, CollectSummary, CollectSampling, RankedRecord, SkippedRecord } from './feedback/collector';
export { WebLabeler } from './feedback/web-labeler';
export type { WebLabelerOptions } from './feedback/web-labeler';
export { TerminalLabeler, escapeForTerminal, parseAnswer } from './feedback/terminal-labeler';
export type { TerminalLabelerOptions, ParsedAnswer } from './feedback/terminal-labeler';
export { appendDurable, readDurableJsonl } from './feedback/durable-append';
export type { DurableRecord, DurableContents, ReadDurableOptions } from './feedback/durable-append';
export { checkJudgement, judgementProblem } from './feedback/check-judgement';

// The recipe wired together, and rounds of feedback
export { RlhfPipeline } from './pipeline/pipeline';
export type { RlhfPipelineData, RlhfPipelineResult, SFTStageResult, RewardStageResult, PPOStageResult } from './pipeline/pipeline';
export type {
  RlhfPipelineOptions, ResolvedPipelineOptions, PipelineSFTOptions, PipelineCollectOptions, PipelineRewardOptions, PipelinePPOOptions,
} from './pipeline/options';
export { runRounds } from './pipeline/rounds';
export type { RoundsOptions, RoundSummary } from './pipeline/rounds';

// AI feedback (RLAIF judges), agreement between labellers, live TAMER-style feedback
export { JudgeLabeler } from './feedback/judge-labeler';
export type { JudgeLabelerOptions, JudgeFunction } from './feedback/judge-labeler';
export type { JudgeEndpoint } from './feedback/judge-endpoint';
export { JudgeError } from './feedback/judge-error';
export { parseJudgeAnswer, rankingFromScores, rankingFromGroups, checkGroups, unshuffleRanking } from './feedback/judge-parse';
export type { RankingParse, RankingParsed, RankingRefused } from './feedback/judge-parse';
export { DEFAULT_PRINCIPLES, JUDGE_SYSTEM_MESSAGE, judgeMessages } from './feedback/judge-prompt';
export { agreement, kendallTauB } from './feedback/agreement';
export type { AgreementStats, RankingInput } from './feedback/agreement';
export { matchRecords } from './feedback/match-records';
export type { MatchedRecords } from './feedback/match-records';
export { TamerFeedback, systemClock } from './feedback/tamer';
export { TamerPage } from './feedback/tamer-page';
export type { TamerPageOptions, TamerPageRewardOptions } from './feedback/tamer-page-options';
export type { TamerFeedbackOptions, TamerRewardOptions, TamerClock } from './feedback/tamer';
export { creditWeight, sampleCredit, creditedFeedback } from './feedback/tamer-credit';
export type { CreditWindow, ShownInterval, FeedbackEvent, TamerAggregate, SampleFeedback } from './feedback/tamer-credit';

// Serving a policy over the OpenAI-compatible chat-completions API
export { servePolicy } from './serve/serve-policy';
export type { ServePolicyOptions, PolicyServer } from './serve/serve-policy';
