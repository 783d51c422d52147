/**
 * RewardTrainer options: one interface, each field documented once with its default, validated once
 * by {@link resolveRewardOptions}.
 * @module
 */
import { ConfigError } from '../errors';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import { checkBoolean, checkInteger, checkNumber, checkOneOf, checkSeed } from '../ops/validate';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { RewardModel } from './reward-model';
import { checkWorkersOption, type WorkersOption } from '../parallel/options';

/** Options of {@link RewardTrainer}. */
export interface RewardTrainerOptions {
  /** The model to train (updated in place). Required. */
  model: RewardModel;
  /** Encodes prompts and responses. Required. */
  tokenizer: Tokenizer;
  /** Peak learning rate; > 0. Default `1e-4`. */
  learningRate?: number;
  /** Prompts (with all their comparisons) per step; integer >= 1. Default `8`. */
  batchSize?: number;
  /** Margin in `-log sigmoid(r_w - r_l - margin)`; any finite number. Default `0`. */
  margin?: number;
  /** Weight of the centering term `mean((r_w + r_l)^2)` that keeps rewards near 0; >= 0. Default `0`. */
  centerRewardsCoef?: number;
  /** Append EOS to every response, as PPO samples end with it. Default `true`. */
  appendEos?: boolean;
  /** What to do when prompt + response exceed the context: throw, or drop prompt tokens from the left. Default `'error'`. */
  truncatePrompt?: 'error' | 'left';
  /** Linear warmup steps; integer >= 0. Default `10`. */
  warmupSteps?: number;
  /** Steps of cosine decay to `learningRate / 10`; integer >= max(1, warmupSteps). Default `1000`. */
  decaySteps?: number;
  /** Decoupled weight decay on matrices; >= 0. Default `0`. */
  weightDecay?: number;
  /** Clip the global gradient norm; > 0. Default `1`. */
  maxGradNorm?: number;
  /** Seed of shuffling and dropout; any safe integer. Default `0`. */
  seed?: number;
  /**
   * Replicas training in parallel: the main thread plus `workers - 1` worker threads, each with its own
   * single-threaded wasm (or cpu) backend; `1` trains in-process. `'auto'` = the cores available
   * (`os.availableParallelism()`), capped by `batchSize` (prompts: each replica scores whole prompt groups); 1 outside Node and on other backends.
   * Default: the `TFJS_RLHF_WORKERS` environment variable if set, else `'auto'`.
   */
  workers?: WorkersOption;
  /** Debug: after every step compare each worker's weight checksum with the main thread's (a mismatch throws `WorkerError`). Default `false`. */
  checkReplicas?: boolean;
  /** Receives progress messages. Default: silent. */
  logger?: Logger;
}

/** {@link RewardTrainerOptions} with every default filled in (model and tokenizer excluded); each field means what it means there. */
export type ResolvedRewardOptions = Required<Omit<RewardTrainerOptions, 'model' | 'tokenizer'>>;

const R = (name: string): string => `RewardTrainerOptions.${name}`;

/**
 * Validates {@link RewardTrainerOptions} (throws {@link ConfigError} naming the option and value) and
 * fills in the defaults. {@link RewardTrainer}'s constructor calls it; call it yourself to check a config early.
 */
export function resolveRewardOptions(o: RewardTrainerOptions): ResolvedRewardOptions {
  if (typeof o !== 'object' || o === null) throw new ConfigError('RewardTrainerOptions', o, 'must be an object');
  if (o.model === undefined) throw new ConfigError(R('model'), o.model, 'is required');
  if (o.tokenizer === undefined) throw new ConfigError(R('tokenizer'), o.tokenizer, 'is required');
  const warmupSteps = checkInteger(R('warmupSteps'), o.warmupSteps ?? 10, 0);
  return {
    learningRate: checkNumber(R('learningRate'), o.learningRate ?? 1e-4, { gt: 0 }),
    batchSize: checkInteger(R('batchSize'), o.batchSize ?? 8, 1),
    margin: checkNumber(R('margin'), o.margin ?? 0),
    centerRewardsCoef: checkNumber(R('centerRewardsCoef'), o.centerRewardsCoef ?? 0, { ge: 0 }),
    appendEos: checkBoolean(R('appendEos'), o.appendEos ?? true),
    truncatePrompt: checkOneOf(R('truncatePrompt'), o.truncatePrompt ?? 'error', ['error', 'left'] as const),
    warmupSteps,
    decaySteps: checkInteger(R('decaySteps'), o.decaySteps ?? 1000, Math.max(1, warmupSteps)),
    weightDecay: checkNumber(R('weightDecay'), o.weightDecay ?? 0, { ge: 0 }),
    maxGradNorm: checkNumber(R('maxGradNorm'), o.maxGradNorm ?? 1, { gt: 0 }),
    seed: checkSeed(R('seed'), o.seed ?? 0),
    workers: checkWorkersOption(R('workers'), o.workers),
    checkReplicas: checkBoolean(R('checkReplicas'), o.checkReplicas ?? false),
    logger: o.logger ?? silentLogger,
  };
}
