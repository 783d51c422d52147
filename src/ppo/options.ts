/**
 * PPOTrainer options: one interface, each field documented once with its default (taken from the
 * RLHF recipe: lm-human-preferences, the N / N+ implementation details, TRL), validated once.
 * @module
 */
import { checkTools, type Tool } from '../tools/tool';
import { ConfigError } from '../errors';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import { checkWorkersOption, type WorkersOption } from '../parallel/options';
import type { TransformerPolicy } from '../models/policy';
import type { RewardModel } from '../reward/reward-model';
import type { KlEstimator } from '../rl/kl';
import type { EpsilonPlacement } from '../optim/adamw';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { ChatMessage } from '../data/types';
import { resolveDialogueOptions, type DialogueOptions, type ResolvedDialogueOptions } from '../dialogue/options';
import { checkBoolean, checkInteger, checkNumber, checkOneOf, checkSeed, checkTokenIds } from '../ops/validate';

/** One sample handed to a reward function. */
export interface RewardSample {
  /** The prompt text. */
  prompt: string;
  /** The response text (decoded, stop token removed by the tokenizer's decode). */
  response: string;
  /** Prompt token ids. */
  promptIds: number[];
  /** Response token ids (the stop token included when it was generated). */
  responseIds: number[];
  /**
   * Dialogue rollouts only (`PPOTrainerOptions.dialogue`): the conversation scored, as chat messages
   * (the prompt's messages, then the turns written; it ends with the assistant turn scored).
   */
  messages?: ChatMessage[];
}

/** A programmatic reward: one finite score per sample, in order. */
export type RewardFunction = (samples: RewardSample[]) => number[] | Promise<number[]>;

/** Options of {@link PPOTrainer}. */
export interface PPOTrainerOptions {
  /** The policy to optimise (updated in place). Required. */
  policy: TransformerPolicy;
  /** A reward model or a function of the samples. Required. */
  reward: RewardModel | RewardFunction;
  /** Encodes prompts and decodes responses; its `eosId` is the default stop token. Required. */
  tokenizer: Tokenizer;
  /** Frozen reference policy for the KL penalty. Default: a clone of `policy` at construction. */
  ref?: TransformerPolicy;
  /**
   * Critic. A {@link RewardModel} instance is used as a separate value model; `'separate'` creates one
   * (a clone of `reward` when it is a RewardModel, as InstructGPT does, else a copy of the policy trunk
   * with a zero-initialised head); `'shared'` puts a zero-initialised value head on the policy trunk.
   * Default `'separate'`.
   */
  valueModel?: RewardModel | 'separate' | 'shared';
  /** Adam learning rate of policy and critic. Default `1e-5`. */
  learningRate?: number;
  /** Prompts per PPO step in {@link PPOTrainer.train}. Default `16`. */
  batchSize?: number;
  /** Rollouts per gradient step (each rollout batch is split into `ceil(batchSize / miniBatchSize)` minibatches). Default `min(4, batchSize)`. */
  miniBatchSize?: number;
  /** Passes over each rollout batch. Default `4`. */
  ppoEpochs?: number;
  /** Policy ratio clip epsilon. Default `0.2`. */
  clipRange?: number;
  /** Value clip epsilon. Default `0.2`. */
  clipRangeValue?: number;
  /** Value-loss coefficient. Default `0.1`. */
  vfCoef?: number;
  /** GAE discount. Default `1`. */
  gamma?: number;
  /** GAE lambda. Default `0.95`. */
  lam?: number;
  /** Initial (or fixed) KL coefficient beta. Default `0.05`. */
  klCoef?: number;
  /** Per-token KL estimator in the reward: `'k1'`, `'k2'` or `'k3'`. Default `'k1'`. */
  klEstimator?: KlEstimator;
  /** Target KL (nats per sequence); setting it makes the KL coefficient adaptive. Default: fixed. */
  klTarget?: number;
  /** Horizon (episodes) of the adaptive KL controller. Default `10000`. */
  klHorizon?: number;
  /** Whiten the per-token rewards (scale only, mean kept) before GAE. Default `false`. */
  whitenRewards?: boolean;
  /** Most tokens generated per response. Default `32`. */
  maxNewTokens?: number;
  /** Sampling temperature; every log-prob is computed at the same temperature. Default `1`. */
  temperature?: number;
  /** Top-k at rollout (0 = off; off is right for PPO). Default `0`. */
  topK?: number;
  /** Top-p at rollout (1 = off; off is right for PPO). Default `1`. */
  topP?: number;
  /** Tokens that end a response. Default `[tokenizer.eosId]`. */
  stopTokens?: number[];
  /**
   * Tools the policy may call while it writes (e.g. `calculatorTool()`): tokens a tool wrote are kept
   * in the response but masked out of the policy loss, the KL and the value loss. Default `[]`.
   */
  tools?: readonly Tool[];
  /** Most tool calls per response. Default `4`. */
  maxToolCalls?: number;
  /**
   * Multi-turn dialogue rollouts: `step` then takes conversations (chat messages) as prompts, the
   * policy writes up to `dialogue.maxTurns` assistant turns of up to `maxNewTokens` tokens each, user
   * turns come from the prompt's script or `dialogue.userSimulator`, and only assistant tokens are
   * trained (user-turn tokens are masked out of the policy loss, the KL and the value loss). The
   * chat template is SFT's (`tokenizeChat`). Default: off (single-turn prompts).
   */
  dialogue?: DialogueOptions;
  /** Subtracted from the score of a response that hit no stop token. Default: no penalty. */
  missingEosPenalty?: number;
  /** Clip the global gradient norm. Default `1`. */
  maxGradNorm?: number;
  /** Adam epsilon. Default `1e-5`. */
  adamEpsilon?: number;
  /** Where Adam's epsilon goes (see {@link AdamW}). Default `'pytorch'`. */
  adamEpsilonPlacement?: EpsilonPlacement;
  /** Weight of the pretraining loss (PPO-ptx); needs `ptxData`. Default `0`. */
  ptxCoef?: number;
  /** Token stream for PPO-ptx. Default: none. */
  ptxData?: ArrayLike<number>;
  /** Sequences per PPO-ptx batch. Default `miniBatchSize`. */
  ptxBatchSize?: number;
  /** Seed of sampling and shuffling; any safe integer. Default `0`. */
  seed?: number;
  /** Receives warnings (negative KL, ratio blow-ups) and progress. Default: silent. */
  logger?: Logger;
  /**
   * Threads PPO uses (Node, wasm or cpu backend): with 2 or more (`'auto'` = the cores available), a
   * worker thread holds the separate critic and the reward model and computes their forward passes and
   * the critic's half of every update beside the policy's on the main thread (same result as `1` up to
   * float summation order). More than 2 adds nothing yet. With `valueModel: 'shared'` PPO runs
   * in-process. Default: the `TFJS_RLHF_WORKERS` environment variable, else `'auto'`.
   */
  workers?: WorkersOption;
  /** Log a warning when the mean ratio of a minibatch leaves `[1 / x, x]`. Default `10`. */
  ratioWarningThreshold?: number;
  /** Every this many steps, log a table of samples (prompt, response, score, KL); 0 = never. Default `10`. */
  sampleEvery?: number;
  /** Rows in each sample table. Default `4`. */
  sampleRows?: number;
}

/**
 * {@link PPOTrainerOptions} with every default filled in (models and data excluded); each field means
 * what it means there. `klTarget`, `missingEosPenalty` and `dialogue` stay optional (absent = off).
 */
export type ResolvedPPOOptions = Required<Omit<PPOTrainerOptions,
  'policy' | 'reward' | 'tokenizer' | 'ref' | 'valueModel' | 'ptxData' | 'klTarget' | 'missingEosPenalty' | 'dialogue'>>
  & Pick<PPOTrainerOptions, 'klTarget' | 'missingEosPenalty'> & {
    /** {@link PPOTrainerOptions.dialogue} with its defaults filled in; absent = single-turn prompts. */
    dialogue?: ResolvedDialogueOptions;
  };

const P = (name: string) => `PPOTrainerOptions.${name}`;

/** Validates options (throws {@link ConfigError} naming the option) and fills in defaults. */
export function resolvePPOOptions(o: PPOTrainerOptions): ResolvedPPOOptions {
  if (o.policy === undefined) throw new ConfigError(P('policy'), o.policy, 'is required');
  if (o.reward === undefined) throw new ConfigError(P('reward'), o.reward, 'is required (a RewardModel or a function)');
  if (o.tokenizer === undefined) throw new ConfigError(P('tokenizer'), o.tokenizer, 'is required');
  const klEstimator = checkOneOf(P('klEstimator'), o.klEstimator ?? 'k1', ['k1', 'k2', 'k3'] as const);
  const batchSize = checkInteger(P('batchSize'), o.batchSize ?? 16, 1);
  const miniBatchSize = checkInteger(P('miniBatchSize'), o.miniBatchSize ?? Math.min(4, batchSize), 1);
  const ptxCoef = checkNumber(P('ptxCoef'), o.ptxCoef ?? 0, { ge: 0 });
  if (ptxCoef > 0 && (o.ptxData === undefined || o.ptxData.length < 2)) throw new ConfigError(P('ptxData'), o.ptxData, 'is required (a token stream) when ptxCoef > 0');
  const V = o.policy.config.vocabSize;
  const stopTokens = checkTokenIds(P('stopTokens'), o.stopTokens ?? [o.tokenizer.eosId], V);
  return {
    learningRate: checkNumber(P('learningRate'), o.learningRate ?? 1e-5, { gt: 0 }),
    batchSize, miniBatchSize,
    ppoEpochs: checkInteger(P('ppoEpochs'), o.ppoEpochs ?? 4, 1),
    clipRange: checkNumber(P('clipRange'), o.clipRange ?? 0.2, { gt: 0 }),
    clipRangeValue: checkNumber(P('clipRangeValue'), o.clipRangeValue ?? 0.2, { gt: 0 }),
    vfCoef: checkNumber(P('vfCoef'), o.vfCoef ?? 0.1, { ge: 0 }),
    gamma: checkNumber(P('gamma'), o.gamma ?? 1, { ge: 0, le: 1 }),
    lam: checkNumber(P('lam'), o.lam ?? 0.95, { ge: 0, le: 1 }),
    klCoef: checkNumber(P('klCoef'), o.klCoef ?? 0.05, { ge: 0 }),
    klEstimator,
    ...(o.klTarget === undefined ? {} : { klTarget: checkNumber(P('klTarget'), o.klTarget, { gt: 0 }) }),
    klHorizon: checkNumber(P('klHorizon'), o.klHorizon ?? 10000, { gt: 0 }),
    whitenRewards: checkBoolean(P('whitenRewards'), o.whitenRewards ?? false),
    maxNewTokens: checkInteger(P('maxNewTokens'), o.maxNewTokens ?? 32, 1),
    temperature: checkNumber(P('temperature'), o.temperature ?? 1, { gt: 0 }),
    topK: checkInteger(P('topK'), o.topK ?? 0, 0),
    topP: checkNumber(P('topP'), o.topP ?? 1, { gt: 0, le: 1 }),
    stopTokens,
    tools: checkTools(P('tools'), o.tools ?? []),
    maxToolCalls: checkInteger(P('maxToolCalls'), o.maxToolCalls ?? 4, 0),
    ...(o.dialogue === undefined ? {} : { dialogue: resolveDialogueOptions(o.dialogue, P('dialogue')) }),
    ...(o.missingEosPenalty === undefined ? {} : { missingEosPenalty: checkNumber(P('missingEosPenalty'), o.missingEosPenalty) }),
    maxGradNorm: checkNumber(P('maxGradNorm'), o.maxGradNorm ?? 1, { gt: 0 }),
    adamEpsilon: checkNumber(P('adamEpsilon'), o.adamEpsilon ?? 1e-5, { gt: 0 }),
    adamEpsilonPlacement: checkOneOf(P('adamEpsilonPlacement'), o.adamEpsilonPlacement ?? 'pytorch', ['pytorch', 'tf1'] as const),
    ptxCoef,
    ptxBatchSize: checkInteger(P('ptxBatchSize'), o.ptxBatchSize ?? miniBatchSize, 1),
    seed: checkSeed(P('seed'), o.seed ?? 0),
    logger: o.logger ?? silentLogger,
    workers: checkWorkersOption(P('workers'), o.workers),
    ratioWarningThreshold: checkNumber(P('ratioWarningThreshold'), o.ratioWarningThreshold ?? 10, { gt: 1 }),
    sampleEvery: checkInteger(P('sampleEvery'), o.sampleEvery ?? 10, 0),
    sampleRows: checkInteger(P('sampleRows'), o.sampleRows ?? 4, 1),
  };
}
