/**
 * Options of `PreferenceCollector` and their one validation.
 * @module
 */
import { ConfigError } from '../../errors';
import type { Tokenizer } from '../../tokenizers/tokenizer';
import type { TransformerPolicy } from '../../models/policy';
import type { GenerateOptions } from '../../generation/generate';
import { resolveSampling } from '../../generation/sampling';
import type { Logger } from '../../logging/logger';
import { DEFAULT_CRITERIA, type Labeler } from '../types';
import { checkCriteria } from '../check-judgement';
import { checkModerator, type Moderator } from '../../moderation/types';
import type { skippedFileOf } from './records';

/** How responses are sampled; see `GenerateOptions`. */
export type CollectSampling = Pick<GenerateOptions, 'maxNewTokens' | 'temperature' | 'topK' | 'topP'>;

/** Options of `PreferenceCollector`. */
export interface PreferenceCollectorOptions {
  /** The policy whose responses are ranked. */
  policy: TransformerPolicy;
  /** The policy's tokenizer: encodes prompts, decodes responses; its EOS ends a response. */
  tokenizer: Tokenizer;
  /** Who ranks: a person (`WebLabeler`, `TerminalLabeler`) or a judge model. */
  labeler: Labeler;
  /** JSONL output of ranked items. Skipped items go to a sidecar, see {@link skippedFileOf}. */
  file: string;
  /** Responses per prompt, 2..9. Default `4`. */
  k?: number;
  /** Criteria the labeller rates (1-7). Default `DEFAULT_CRITERIA`; `[]` asks for no ratings. */
  criteria?: string[];
  /** Sampling of responses. Default: `GenerateOptions` defaults (32 new tokens, temperature 1). */
  sampling?: CollectSampling;
  /** Base seed; each prompt's responses use a seed derived from it and the prompt. Default `0`. */
  seed?: number;
  /** Receives progress (`task: 'collect'`) and warnings. Default: the silent logger. */
  logger?: Logger;
  /**
   * Checks each prompt before sampling: a flagged prompt is not sampled nor shown; it is recorded in
   * the skipped file with `responses: []`, `labeler: "moderation"` and `reason: "moderation: <categories>"`.
   * Default: none (no check).
   */
  moderation?: Moderator;
}

/** The validated settings of a `PreferenceCollector` with defaults filled in. @internal */
export interface ResolvedCollectorSettings {
  /** Responses per prompt. */
  k: number;
  /** Criteria the labeller rates (a fresh copy). */
  criteria: string[];
  /** Base seed. */
  seed: number;
}

/**
 * Validates {@link PreferenceCollectorOptions} once.
 * @param o - The options.
 * @returns `k`, `criteria` and `seed` with their defaults.
 * @throws A {@link ConfigError} naming the invalid option.
 * @internal
 */
export function resolveCollectorOptions(o: PreferenceCollectorOptions): ResolvedCollectorSettings {
  if (typeof o !== 'object' || o === null) throw new ConfigError('options', o, 'must be an object');
  if (typeof o.policy?.generate !== 'function') throw new ConfigError('policy', o.policy, 'must be a TransformerPolicy');
  if (typeof o.tokenizer?.encode !== 'function' || typeof o.tokenizer.decode !== 'function') {
    throw new ConfigError('tokenizer', o.tokenizer, 'must be a Tokenizer');
  }
  if (typeof o.labeler?.label !== 'function' || typeof o.labeler.name !== 'string') {
    throw new ConfigError('labeler', o.labeler, 'must be a Labeler (a name and a label method)');
  }
  if (typeof o.file !== 'string' || o.file === '') throw new ConfigError('file', o.file, 'must be a non-empty path');
  const k = o.k ?? 4;
  if (!Number.isInteger(k) || k < 2 || k > 9) throw new ConfigError('k', k, 'must be an integer in [2, 9]');
  checkCriteria(o.criteria, 'criteria', true);
  const sampling: unknown = o.sampling ?? {};
  if (typeof sampling !== 'object' || sampling === null) throw new ConfigError('sampling', sampling, 'must be an object');
  resolveSampling(sampling as CollectSampling, o.tokenizer.vocabSize);
  const maxNewTokens = (sampling as CollectSampling).maxNewTokens;
  if (maxNewTokens !== undefined && (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)) {
    throw new ConfigError('sampling.maxNewTokens', maxNewTokens, 'must be an integer >= 1');
  }
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new ConfigError('seed', seed, 'must be a safe integer');
  if (o.moderation !== undefined) checkModerator('moderation', o.moderation);
  return { k, criteria: [...(o.criteria ?? DEFAULT_CRITERIA)], seed };
}
