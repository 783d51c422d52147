/**
 * SFTTrainer options: one interface, each field documented once with its default, validated once by
 * {@link resolveSFTOptions}.
 * @module
 */
import { ConfigError } from '../errors';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import type { TransformerPolicy } from '../models/policy';
import { checkBoolean, checkInteger, checkNumber, checkOneOf, checkSeed } from '../ops/validate';
import { checkWorkersOption, type WorkersOption } from '../parallel/options';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { TruncatePrompt } from './examples';

/** Options of {@link SFTTrainer}. */
export interface SFTTrainerOptions {
  /** The model to fine-tune (updated in place). Required. */
  policy: TransformerPolicy;
  /** Encodes text examples; its `eosId` ends every completion, `padId` fills batches. Required. */
  tokenizer: Tokenizer;
  /** Peak learning rate; > 0. Default `1e-3`. */
  learningRate?: number;
  /** Examples per step; integer >= 1. Default `8`. */
  batchSize?: number;
  /** Linear warmup steps; integer >= 0. Default `10`. */
  warmupSteps?: number;
  /** Steps over which the cosine decays to `minLearningRate`; integer >= max(1, warmupSteps). Default: the total steps of the first `train` call. */
  decaySteps?: number;
  /** Floor of the cosine schedule, in [0, learningRate]. Default `learningRate / 10`. */
  minLearningRate?: number;
  /** Decoupled weight decay, applied to matrices only; >= 0. Default `0`. */
  weightDecay?: number;
  /** Adam beta1, in [0, 1). Default `0.9`. */
  beta1?: number;
  /** Adam beta2, in [0, 1). Default `0.999`. */
  beta2?: number;
  /** Adam epsilon (PyTorch placement); > 0. Default `1e-8`. */
  adamEpsilon?: number;
  /** Clip the global gradient norm to this; > 0. Default `1`. */
  maxGradNorm?: number;
  /**
   * An example longer than `contextLength`: `'error'` throws an {@link InputError} naming it and its
   * token counts; `'left'` drops prompt tokens from the left (keeping at least one) and throws only
   * if the completion and EOS alone do not fit. Default `'error'`.
   */
  truncatePrompt?: TruncatePrompt;
  /** Seed of the shuffling and dropout; any safe integer. Default `0`. */
  seed?: number;
  /**
   * Replicas training in parallel: the main thread plus `workers - 1` worker threads, each with its own
   * single-threaded wasm (or cpu) backend; `1` trains in-process. `'auto'` = the cores available
   * (`os.availableParallelism()`), capped by `batchSize`; 1 outside Node and on other backends.
   * Default: the `TFJS_RLHF_WORKERS` environment variable if set, else `'auto'`.
   */
  workers?: WorkersOption;
  /** Debug: after every step compare each worker's weight checksum with the main thread's (a mismatch throws `WorkerError`). Default `false`. */
  checkReplicas?: boolean;
  /** Receives progress messages (and a warning when prompts are truncated). Default: silent. */
  logger?: Logger;
}

/**
 * {@link SFTTrainerOptions} with every default filled in (policy and tokenizer excluded); each field
 * means what it means there. `decaySteps` stays optional (absent = set by the first `train` call).
 */
export type ResolvedSFTOptions = Required<Omit<SFTTrainerOptions, 'policy' | 'tokenizer' | 'decaySteps'>>
  & Pick<SFTTrainerOptions, 'decaySteps'>;

const S = (name: string): string => `SFTTrainerOptions.${name}`;

/**
 * Validates {@link SFTTrainerOptions} (throws {@link ConfigError} naming the option and value) and fills
 * in the defaults. {@link SFTTrainer}'s constructor calls it; call it yourself to check a config early.
 */
export function resolveSFTOptions(o: SFTTrainerOptions): ResolvedSFTOptions {
  if (typeof o !== 'object' || o === null) throw new ConfigError('SFTTrainerOptions', o, 'must be an object');
  const { policy, tokenizer } = o;
  if (policy === undefined) throw new ConfigError(S('policy'), policy, 'is required');
  if (tokenizer === undefined) throw new ConfigError(S('tokenizer'), tokenizer, 'is required');
  if (!(tokenizer.vocabSize <= policy.config.vocabSize)) {
    throw new ConfigError(S('tokenizer'), tokenizer.vocabSize, `vocabSize must be <= the policy's vocabSize ${policy.config.vocabSize}`);
  }
  const learningRate = checkNumber(S('learningRate'), o.learningRate ?? 1e-3, { gt: 0 });
  const warmupSteps = checkInteger(S('warmupSteps'), o.warmupSteps ?? 10, 0);
  return {
    learningRate,
    batchSize: checkInteger(S('batchSize'), o.batchSize ?? 8, 1),
    warmupSteps,
    ...(o.decaySteps === undefined ? {} : { decaySteps: checkInteger(S('decaySteps'), o.decaySteps, Math.max(1, warmupSteps)) }),
    minLearningRate: checkNumber(S('minLearningRate'), o.minLearningRate ?? learningRate / 10, { ge: 0, le: learningRate }),
    weightDecay: checkNumber(S('weightDecay'), o.weightDecay ?? 0, { ge: 0 }),
    beta1: checkNumber(S('beta1'), o.beta1 ?? 0.9, { ge: 0, lt: 1 }),
    beta2: checkNumber(S('beta2'), o.beta2 ?? 0.999, { ge: 0, lt: 1 }),
    adamEpsilon: checkNumber(S('adamEpsilon'), o.adamEpsilon ?? 1e-8, { gt: 0 }),
    maxGradNorm: checkNumber(S('maxGradNorm'), o.maxGradNorm ?? 1, { gt: 0 }),
    truncatePrompt: checkOneOf(S('truncatePrompt'), o.truncatePrompt ?? 'error', ['error', 'left'] as const),
    seed: checkSeed(S('seed'), o.seed ?? 0),
    workers: checkWorkersOption(S('workers'), o.workers),
    checkReplicas: checkBoolean(S('checkReplicas'), o.checkReplicas ?? false),
    logger: o.logger ?? silentLogger,
  };
}
