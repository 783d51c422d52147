/**
 * LMTrainer options: one interface, each field documented once with its default, validated once by
 * {@link resolveLMOptions}.
 * @module
 */
import { ConfigError } from '../errors';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import type { TransformerPolicy } from '../models/policy';
import { checkBoolean, checkInteger, checkNumber, checkSeed } from '../ops/validate';
import { checkWorkersOption, type WorkersOption } from '../parallel/options';

/** Options of {@link LMTrainer}. */
export interface LMTrainerOptions {
  /** The model to train (updated in place). Required. */
  policy: TransformerPolicy;
  /** Peak learning rate; > 0. Default `1e-3`. */
  learningRate?: number;
  /** Sequences per step; integer >= 1. Default `8`. */
  batchSize?: number;
  /** Tokens per sequence (inputs; one more token is read for the targets), in [1, contextLength]. Default: `contextLength`. */
  sequenceLength?: number;
  /** Linear warmup steps; integer >= 0. Default `20`. */
  warmupSteps?: number;
  /** Steps over which the cosine decays to `minLearningRate` (set it to the planned total); integer >= max(1, warmupSteps). Default `1000`. */
  decaySteps?: number;
  /** Floor of the cosine schedule, in [0, learningRate]. Default `learningRate / 10`. */
  minLearningRate?: number;
  /** Decoupled weight decay, applied to matrices only; >= 0. Default `0.1`. */
  weightDecay?: number;
  /** Adam beta1, in [0, 1). Default `0.9`. */
  beta1?: number;
  /** Adam beta2, in [0, 1). Default `0.95`. */
  beta2?: number;
  /** Adam epsilon (PyTorch placement); > 0. Default `1e-8`. */
  adamEpsilon?: number;
  /** Clip the global gradient norm to this; > 0. Default `1`. */
  maxGradNorm?: number;
  /** Seed of the window sampler and dropout; any safe integer. Default `0`. */
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
  /** Receives progress messages. Default: silent. */
  logger?: Logger;
}

/** {@link LMTrainerOptions} with every default filled in (the policy excluded); each field means what it means there. */
export type ResolvedLMOptions = Required<Omit<LMTrainerOptions, 'policy'>>;

const L = (name: string): string => `LMTrainerOptions.${name}`;

/**
 * Validates {@link LMTrainerOptions} (throws {@link ConfigError} naming the option and value) and fills
 * in the defaults. {@link LMTrainer}'s constructor calls it; call it yourself to check a config early.
 */
export function resolveLMOptions(o: LMTrainerOptions): ResolvedLMOptions {
  if (typeof o !== 'object' || o === null) throw new ConfigError('LMTrainerOptions', o, 'must be an object');
  if (o.policy === undefined) throw new ConfigError(L('policy'), o.policy, 'is required');
  const { contextLength } = o.policy.config;
  const learningRate = checkNumber(L('learningRate'), o.learningRate ?? 1e-3, { gt: 0 });
  const warmupSteps = checkInteger(L('warmupSteps'), o.warmupSteps ?? 20, 0);
  const sequenceLength = checkInteger(L('sequenceLength'), o.sequenceLength ?? contextLength, 1);
  if (sequenceLength > contextLength) throw new ConfigError(L('sequenceLength'), sequenceLength, `must be <= contextLength = ${contextLength}`);
  return {
    learningRate,
    batchSize: checkInteger(L('batchSize'), o.batchSize ?? 8, 1),
    sequenceLength,
    warmupSteps,
    decaySteps: checkInteger(L('decaySteps'), o.decaySteps ?? 1000, Math.max(1, warmupSteps)),
    minLearningRate: checkNumber(L('minLearningRate'), o.minLearningRate ?? learningRate / 10, { ge: 0, le: learningRate }),
    weightDecay: checkNumber(L('weightDecay'), o.weightDecay ?? 0.1, { ge: 0 }),
    beta1: checkNumber(L('beta1'), o.beta1 ?? 0.9, { ge: 0, lt: 1 }),
    beta2: checkNumber(L('beta2'), o.beta2 ?? 0.95, { ge: 0, lt: 1 }),
    adamEpsilon: checkNumber(L('adamEpsilon'), o.adamEpsilon ?? 1e-8, { gt: 0 }),
    maxGradNorm: checkNumber(L('maxGradNorm'), o.maxGradNorm ?? 1, { gt: 0 }),
    seed: checkSeed(L('seed'), o.seed ?? 0),
    workers: checkWorkersOption(L('workers'), o.workers),
    checkReplicas: checkBoolean(L('checkReplicas'), o.checkReplicas ?? false),
    logger: o.logger ?? silentLogger,
  };
}
