/**
 * DPOTrainer options: one interface, each field documented once with its default (TRL `DPOConfig`
 * where it makes sense), validated once by {@link resolveDPOOptions}.
 * @module
 */
import { ConfigError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import type { TransformerPolicy } from '../models/policy';
import { checkInteger, checkNumber } from '../ops/validate';
import { checkWorkersOption, type WorkersOption } from '../parallel/options';
import type { DpoLossType } from '../rl/preference';
import type { Tokenizer } from '../tokenizers/tokenizer';

/** Options of {@link DPOTrainer}. */
export interface DPOTrainerOptions {
  /** The policy to train (updated in place). Required. */
  policy: TransformerPolicy;
  /** Encodes prompts and responses. Required. */
  tokenizer: Tokenizer;
  /**
   * Frozen reference policy. Default: a clone of `policy` at construction. Ignored when
   * `precomputeRefLogProbs` is true.
   */
  ref?: TransformerPolicy;
  /**
   * Keep no reference model: reference log-probs are computed with the policy itself before its
   * first update and cached (TRL `precompute_ref_log_probs`). Data first seen after step 0 (e.g. an
   * evaluation set) must be passed to {@link DPOTrainer.precomputeReference} before training.
   * Default `false`.
   */
  precomputeRefLogProbs?: boolean;
  /** Temperature beta of the implicit reward `beta * log(pi / pi_ref)`. Default `0.1`. */
  beta?: number;
  /** `'sigmoid'` (DPO, cDPO with label smoothing), `'robust'`, `'ipo'` or `'hinge'`. Default `'sigmoid'`. */
  lossType?: DpoLossType;
  /** Label-noise epsilon in `[0, 0.5)` (cDPO for `'sigmoid'`, robust DPO for `'robust'`). Default `0`. */
  labelSmoothing?: number;
  /**
   * K-way rankings as C(K,2) pairs in one batch (`'pairs'`, each record weighted once), or as one
   * listwise Plackett-Luce term per record (`'plackett-luce'`, needs `lossType: 'sigmoid'` and no label
   * smoothing). Pairs are the same under both. Default `'pairs'`.
   */
  rankings?: 'pairs' | 'plackett-luce';
  /** Adam learning rate (TRL's 1e-6 suits pretrained models; tiny models from scratch want ~1e-3). Default `1e-6`. */
  learningRate?: number;
  /** Records (with all their responses) per step. Default `8`. */
  batchSize?: number;
  /** Append EOS to every response. Default `true`. */
  appendEos?: boolean;
  /** When prompt + response exceed the context: throw, or drop prompt tokens from the left. Default `'error'`. */
  truncatePrompt?: 'error' | 'left';
  /** Clip the global gradient norm. Default `1`. */
  maxGradNorm?: number;
  /** Decoupled weight decay. Default `0`. */
  weightDecay?: number;
  /** Seed of shuffling. Default `0`. */
  seed?: number;
  /** Receives per-step stats (`'dpo step'`) and progress. Default: silent. */
  logger?: Logger;
  /**
   * Replicas training in parallel (Node, wasm or cpu backend): the main thread plus `workers - 1`
   * worker threads, each with a replica of the policy; a batch's records are split between them and
   * their gradients summed (same result as `1` up to float summation order). `'auto'` = the cores
   * available, capped by the batch. Default: the `TFJS_RLHF_WORKERS` environment variable, else `'auto'`.
   */
  workers?: WorkersOption;
}

/** {@link DPOTrainerOptions} with defaults filled in (models excluded). */
export type ResolvedDPOOptions = Required<Omit<DPOTrainerOptions, 'policy' | 'tokenizer' | 'ref'>>;

const P = (name: string) => `DPOTrainerOptions.${name}`;

/** Validates options (throws {@link ConfigError} naming the option) and fills in defaults. */
export function resolveDPOOptions(o: DPOTrainerOptions): ResolvedDPOOptions {
  if (o === null || typeof o !== 'object') throw new ConfigError('DPOTrainerOptions', o, 'must be an object');
  if (o.policy === undefined) throw new ConfigError(P('policy'), o.policy, 'is required');
  if (o.tokenizer === undefined) throw new ConfigError(P('tokenizer'), o.tokenizer, 'is required');
  const lossType = o.lossType ?? 'sigmoid';
  if (!['sigmoid', 'robust', 'ipo', 'hinge'].includes(lossType)) throw new ConfigError(P('lossType'), lossType, "must be 'sigmoid', 'robust', 'ipo' or 'hinge'");
  const labelSmoothing = checkNumber(P('labelSmoothing'), o.labelSmoothing ?? 0, { ge: 0, lt: 0.5 });
  if (labelSmoothing > 0 && (lossType === 'ipo' || lossType === 'hinge')) throw new ConfigError(P('labelSmoothing'), labelSmoothing, `is not used by lossType '${lossType}'; set it to 0`);
  const rankings = o.rankings ?? 'pairs';
  if (rankings !== 'pairs' && rankings !== 'plackett-luce') throw new ConfigError(P('rankings'), rankings, "must be 'pairs' or 'plackett-luce'");
  if (rankings === 'plackett-luce' && (lossType !== 'sigmoid' || labelSmoothing > 0)) {
    throw new ConfigError(P('rankings'), rankings, "needs lossType 'sigmoid' without labelSmoothing (the Plackett-Luce loss generalises plain DPO)");
  }
  const truncatePrompt = o.truncatePrompt ?? 'error';
  if (truncatePrompt !== 'error' && truncatePrompt !== 'left') throw new ConfigError(P('truncatePrompt'), truncatePrompt, "must be 'error' or 'left'");
  const workers = checkWorkersOption(P('workers'), o.workers);
  return {
    precomputeRefLogProbs: o.precomputeRefLogProbs ?? false,
    beta: checkNumber(P('beta'), o.beta ?? 0.1, { gt: 0 }),
    lossType, labelSmoothing, rankings,
    learningRate: checkNumber(P('learningRate'), o.learningRate ?? 1e-6, { gt: 0 }),
    batchSize: checkInteger(P('batchSize'), o.batchSize ?? 8, 1),
    appendEos: o.appendEos ?? true,
    truncatePrompt,
    maxGradNorm: checkNumber(P('maxGradNorm'), o.maxGradNorm ?? 1, { gt: 0 }),
    weightDecay: checkNumber(P('weightDecay'), o.weightDecay ?? 0, { ge: 0 }),
    seed: checkInteger(P('seed'), o.seed ?? 0, 0),
    logger: o.logger ?? silentLogger,
    workers,
  };
}
