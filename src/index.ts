/**
 * tfjs-rlhf: the InstructGPT recipe (pretraining, SFT, reward modelling, PPO) for TypeScript, on
 * TensorFlow.js, in Node and the browser.
 * @packageDocumentation
 */
// Registers tfjs-core's gradients and chained ops before anything else runs.
import './tf';

// Errors
export { RlhfError, ConfigError, InputError, FileFormatError, BackendError, NonFiniteError, previewValue, HubError } from './errors';

// Backends
export { useBackend, isNode } from './backends/use-backend';
export type { BackendName, UseBackendOptions } from './backends/use-backend';
export { webgpuAdapter, releaseWebGpu } from './backends/webgpu-node';
export type { WebGpuOptions, WebGpuAdapterSummary } from './backends/webgpu-node';

// Logging
export { silentLogger, consoleLogger } from './logging/logger';
export type { Logger, LogLevel } from './logging/logger';

// Randomness
export { Rng } from './ops/random';
export type { RngState } from './ops/random';

// Tokenizers
export { ByteTokenizer } from './tokenizers/byte';
export { Gpt2Tokenizer } from './tokenizers/gpt2';
export { BpeTokenizer } from './tokenizers/bpe';
export type { BpeTrainOptions } from './tokenizers/bpe-options';
export type { Tokenizer, DecodeOptions } from './tokenizers/tokenizer';

// Hugging Face interop: models, tokenizers, the Hub cache, datasets out
export { loadTokenizer } from './hf/tokenizer-files';
export { ByteLevelBpe } from './tokenizers/byte-level-bpe';
export type { Gpt2Vocabulary, AddedToken } from './tokenizers/gpt2';
export { hubFile } from './hf/hub';
export type { HubOptions } from './hf/hub';
export type { FromPretrainedOptions, SavePretrainedOptions } from './hf/pretrained';
export { exportDataset } from './hf/export-dataset';
export type { ExportableDataset, PreferenceDataset, SFTDataset, PromptDataset, ExportPromptRow, ExportDatasetOptions, ExportDatasetResult } from './hf/export-dataset';

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
export { resolveGenerateOptions } from './generation/generate';
export type { GenerateOptions, GenerateResult, ResolvedGenerateOptions } from './generation/generate';

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
export type { LMLoadOptions } from './train/lm-trainer';
export type { LMStepStats, LMTrainOptions, LMEvaluateOptions, LMEvaluation } from './train/lm-trainer';
export { resolveLMOptions } from './train/options';
export type { LMTrainerOptions, ResolvedLMOptions } from './train/options';
export { optimizerStep } from './train/step';
export type { OptimizerStepOptions, OptimizerStepResult, StepLossFn, StepLoss } from './train/step';

// Data-parallel training on every core (worker threads in Node, Web Workers in a cross-origin
// isolated page; trainers and generate take `workers`)
export { WORKERS_ENV, MAX_WORKERS } from './parallel/options';
export { setWorkerFactory } from './parallel/channel';
export type { WorkerFactory, WebWorkerLike } from './parallel/channel';
export type { WorkersOption } from './parallel/options';
export type { WorkerMemory } from './parallel/protocol';
export { WorkerError } from './errors';
export type { WorkerFailure } from './errors';

// Data
export {
  readJsonl, readSFT, readPairs, readRankings, readChat, readAll, writeJsonlLine,
  parseSFT, parsePair, parseRanking, parseChatRanking, parseChat, preferencePairsFromRanking,
  tokenizeChat, tokenizeChatPrompt, chatPrompt, chatHeader,
} from './data/index';
export type {
  SFTExample, PreferencePair, RankingExample, ChatRankingExample, ChatRole, ChatMessage, ChatExample, RecordLocation,
  JsonlSource, RecordParser, ReadJsonlOptions, ReadRankingsOptions, ParseRankingOptions, ChatTokens,
} from './data/index';

// Supervised fine-tuning
export { SFTTrainer, prepareSequences, sftBatch, resolveSFTOptions } from './sft/index';
export type {
  SFTTrainerOptions, ResolvedSFTOptions, SFTTrainOptions, SFTStepStats, SFTEvaluation, SFTTrainerState,
  SFTInput, TokenizedSFTExample, TruncatePrompt, SFTSequence, PrepareOptions, PreparedSequences, SFTBatch,
} from './sft/index';

// Reward modelling
export { RewardModel } from './reward/reward-model';
export { lastTokenIndex } from './models/batch';
export type { RewardModelOptions, RewardNormalization, ScoreConversationsOptions } from './reward/reward-model';
export { RewardTrainer } from './reward/reward-trainer';
export type { RewardStats, RewardStepStats, RewardTrainOptions } from './reward/reward-trainer';
export { resolveRewardOptions } from './reward/trainer-options';
export type { RewardTrainerOptions, ResolvedRewardOptions } from './reward/trainer-options';
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
export { resolvePPOOptions } from './ppo/options';
export type { PPOTrainerOptions, RewardFunction, RewardSample, ResolvedPPOOptions } from './ppo/options';
export type { PPOStats } from './ppo/stats';
export type { Critic, ValueHead, SeparateCritic, SharedCritic } from './ppo/forward';
export type { PPOPrompt } from './ppo/ppo-trainer';
// Multi-turn dialogue rollouts (PPOTrainerOptions.dialogue)
export { resolveDialogueOptions } from './dialogue/options';
export type {
  DialogueOptions, ResolvedDialogueOptions, UserSimulator, UserTurnContext, DialogueSample, DialoguePrompt, DialogueRewardPer,
} from './dialogue/options';
export { dialogueSampleFromChat } from './dialogue/conversation';

// Direct preference optimisation and critic-free online RL (GRPO, RLOO) on the same core
export { dpoLoss, plackettLuceLoss, groupAdvantages, rlooAdvantages, grpoLoss } from './rl/index';
export type {
  DpoLossType, DpoLossArgs, DpoLossResult, PlackettLuceLossArgs, PlackettLuceLossResult, RewardScaling, GroupAdvantagesOptions,
  GrpoLossType, GrpoLossArgs, GrpoLossResult,
} from './rl/index';
export { DPOTrainer } from './dpo/dpo-trainer';
export type { DPOTrainOptions, DPOLoadOptions, DPOProgress } from './dpo/dpo-trainer';
export type { DPOTrainerOptions, ResolvedDPOOptions } from './dpo/options';
export type { DPOStats, DPOStepStats, PairValues } from './dpo/stats';
export type { PreferenceRecord, ChatPreferencePair, EncodedPreference, EncodeOptions } from './dpo/data';
export { GRPOTrainer, RLOOTrainer } from './grpo/grpo-trainer';
export type { GroupLoadOptions } from './grpo/grpo-trainer';
export { GroupTrainer } from './grpo/group-trainer';
export type { PromptRow, GroupPrompt, GroupTrainOptions, GroupProgress } from './grpo/group-trainer';
export type { GRPOTrainerOptions, RLOOTrainerOptions, ResolvedGroupOptions, GroupDefaults } from './grpo/options';
export type { GRPOStats } from './grpo/stats';

// Verifiable rewards
export {
  extractGsm8kAnswer, extractBoxed, extractLastNumber, extractAnswer, parseNumber, answersMatch, accuracyReward, formatReward, combineRewards,
} from './rewards/index';
export type { AnswerFormat, ColumnRewardSample, ColumnRewardFunction, MatchOptions, AccuracyRewardOptions } from './rewards/index';

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
export { PreferenceCollector, promptId, skippedFileOf } from './feedback/collect/collector';
export type { PreferenceCollectorOptions, CollectOptions, CollectSummary, CollectSampling, CollectPrompt, RankedRecord, SkippedRecord } from './feedback/collect/collector';
export { FileLockedError } from './feedback/collect/file-lock';
export type { LockHolder } from './feedback/collect/file-lock';
export { WebLabeler } from './feedback/labelers/web-labeler';
export type { WebLabelerOptions } from './feedback/labelers/web-labeler';
export { TerminalLabeler, escapeForTerminal, parseAnswer } from './feedback/labelers/terminal-labeler';
export type { TerminalLabelerOptions, ParsedAnswer } from './feedback/labelers/terminal-labeler';
export { appendDurable, readDurableJsonl } from './feedback/collect/durable-append';
export type { DurableRecord, DurableContents, ReadDurableOptions } from './feedback/collect/durable-append';
export { checkJudgement, judgementProblem } from './feedback/check-judgement';

// The recipe wired together, and rounds of feedback
export { RlhfPipeline } from './pipeline/pipeline';
export type { RlhfPipelineData, RlhfPipelineResult, SFTStageResult, RewardStageResult, PPOStageResult } from './pipeline/pipeline';
export type { PipelineDPOOptions, DPOStageResult } from './pipeline/pipeline';
export type {
  RlhfPipelineOptions, ResolvedPipelineOptions, PipelineSFTOptions, PipelineCollectOptions, PipelineRewardOptions, PipelinePPOOptions,
} from './pipeline/options';
export { runRounds } from './pipeline/rounds';
export type { RoundsOptions, RoundSummary } from './pipeline/rounds';

// AI feedback (RLAIF judges), agreement between labellers, live TAMER-style feedback
export { JudgeLabeler } from './feedback/judges/judge-labeler';
export type { JudgeLabelerOptions, JudgeFunction } from './feedback/judges/judge-labeler';
export type { JudgeEndpoint } from './feedback/judges/judge-endpoint';
export { JudgeError } from './feedback/judges/judge-error';
export { parseJudgeAnswer, rankingFromScores, rankingFromGroups, checkGroups, unshuffleRanking } from './feedback/judges/judge-parse';
export type { RankingParse, RankingParsed, RankingRefused } from './feedback/judges/judge-parse';
export { DEFAULT_PRINCIPLES, JUDGE_SYSTEM_MESSAGE, judgeMessages } from './feedback/judges/judge-prompt';
export { agreement, kendallTauB } from './feedback/analysis/agreement';
export type { AgreementStats, RankingInput } from './feedback/analysis/agreement';
export { matchRecords } from './feedback/analysis/match-records';
export type { MatchedRecords } from './feedback/analysis/match-records';
export { TamerFeedback, systemClock } from './feedback/tamer/tamer';
export { TamerPage } from './feedback/tamer/tamer-page';
export type { TamerPageOptions, TamerPageRewardOptions } from './feedback/tamer/tamer-page-options';
export type { TamerFeedbackOptions, TamerRewardOptions, TamerClock } from './feedback/tamer/tamer';
export { creditWeight, sampleCredit, creditedFeedback } from './feedback/tamer/tamer-credit';
export type { CreditWindow, ShownInterval, FeedbackEvent, TamerAggregate, SampleFeedback } from './feedback/tamer/tamer-credit';

// Compression: int8 weights, magnitude and SparseGPT pruning
export {
  quantize, resolveQuantizeOptions, prune, resolvePruneOptions, keepSparsity, applySparsityMasks, countZeros,
  cholesky, invertLower, choleskyInverse, upperCholeskyOfInverse, quantizeMatrix, dequantizeMatrix, QUANT_METADATA_KEY,
  perplexity, runCompressCli, COMPRESS_CLI_USAGE,
} from './compress/index';
export type {
  QuantizeOptions, ResolvedQuantizeOptions, PruneOptions, ResolvedPruneOptions, SparsityHandle, QuantizedMatrix, ScaleKind,
  CompressibleModel, PerplexityOptions, PerplexityResult, ZeroCount, CompressCliIo, NMPattern,
} from './compress/index';

// Serving a policy over the OpenAI-compatible chat-completions API
export { servePolicy } from './serve/serve-policy';
export type { ServePolicyOptions, PolicyServer } from './serve/serve-policy';

// Tools the policy calls while generating (issue 15)
export { calculatorTool } from './tools/calculator';
export type { CalculatorOptions } from './tools/calculator';
export type { Tool } from './tools/tool';

// Moderation of queries (issue 15)
export type { Moderator, ModerationResult } from './moderation/types';
export { moderationRules } from './moderation/rules';
export type { ModerationRule } from './moderation/rules';
export { moderationClient, ModerationError } from './moderation/client';
export type { ModerationClientOptions } from './moderation/client';
export { ModerationClassifier } from './moderation/classifier';
export type { ModerationClassifierOptions } from './moderation/classifier';
export { ModerationTrainer, readModerationExamples } from './moderation/classifier-trainer';
export type { ModerationExample, ModerationTrainerOptions, ModerationStepStats } from './moderation/classifier-trainer';
