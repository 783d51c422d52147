/**
 * PPO stage 3 (numbered as in docs/guides/ppo.md), scoring: the reward model or reward function scores
 * each (prompt, response); responses that hit no stop token are penalised; anything non-finite or of
 * the wrong length is an error before any weight changes. Not PPO-specific: other trainers reuse it.
 * @module
 */
import { InputError, NonFiniteError } from '../errors';
import { RewardModel } from '../reward/reward-model';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { ChatMessage } from '../data/types';
import type { ResolvedPPOOptions, RewardFunction, RewardSample } from './options';
import type { Rollout } from './rollout';

/** What {@link scoreRollout} reads of a rollout: its rows, and the conversations of a dialogue rollout. */
export type ScoredRows = Pick<Rollout, 'prompts' | 'promptIds' | 'responseIds' | 'hitStop'> & { dialogue?: { messages: ChatMessage[][] } };

/** Scores of a rollout: the raw reward and the score after the missing-EOS penalty. */
export interface Scores {
  /** What the reward returned. */
  raw: number[];
  /** The score used in the per-token reward. */
  final: number[];
}

/** The settings {@link scoreRollout} reads (a subset of the PPO options, so other trainers can pass their own). */
export type ScoreOptions = Pick<ResolvedPPOOptions, 'missingEosPenalty'>;

/**
 * Stage 3: scores every sample.
 * @param reward - a reward model (scored with EOS appended to truncated responses) or a reward function.
 * @param ro - the rollout (its conversations, for a dialogue rollout, go to a reward function as `messages`).
 * @param tokenizer - decodes responses for a reward function.
 * @param o - `missingEosPenalty`, subtracted from the score of a response that hit no stop token.
 * @param step - the trainer's step, for errors.
 * @param trainer - the trainer's name, for errors. Default `'PPOTrainer'`.
 * @throws {@link InputError} when the reward returns the wrong count; {@link NonFiniteError} on a non-finite score.
 */
export async function scoreRollout(
  reward: RewardModel | RewardFunction,
  ro: ScoredRows,
  tokenizer: Tokenizer,
  o: ScoreOptions,
  step: number,
  trainer = 'PPOTrainer',
): Promise<Scores> {
  let raw: number[];
  if (reward instanceof RewardModel) {
    raw = await reward.score(ro.promptIds, rewardModelResponses(reward, ro, tokenizer));
  } else {
    const samples: RewardSample[] = ro.prompts.map((prompt, b) => ({
      prompt,
      response: tokenizer.decode(ro.responseIds[b] as number[]),
      promptIds: [...(ro.promptIds[b] as number[])],
      responseIds: [...(ro.responseIds[b] as number[])],
      ...(ro.dialogue && { messages: (ro.dialogue.messages[b] as ChatMessage[]).map((m) => ({ ...m })) }),
    }));
    raw = await reward(samples);
  }
  return finishScores(raw, ro, o, step, trainer);
}

/**
 * The responses a reward model scores. It is trained on responses ending in EOS (RewardTrainer's
 * appendEos), so a response cut off at maxNewTokens is scored the same way, EOS appended when it fits;
 * `missingEosPenalty` still applies.
 */
export function rewardModelResponses(reward: RewardModel, ro: Pick<ScoredRows, 'promptIds' | 'responseIds' | 'hitStop'>, tokenizer: Tokenizer): number[][] {
  const ctx = reward.config.contextLength;
  const eos = tokenizer.eosId;
  return ro.responseIds.map((r, b) =>
    !ro.hitStop[b] && eos < reward.config.vocabSize && (ro.promptIds[b] as number[]).length + r.length < ctx ? [...r, eos] : [...r]);
}

/** Checks what a reward returned (one finite number per sample) and applies the missing-EOS penalty. */
export function finishScores(raw: number[], ro: Pick<ScoredRows, 'prompts' | 'hitStop'>, o: ScoreOptions, step: number, trainer = 'PPOTrainer'): Scores {
  if (!Array.isArray(raw) || raw.length !== ro.prompts.length) {
    throw new InputError('reward(samples)', Array.isArray(raw) ? `${raw.length} scores` : raw, `must return one number per sample (${ro.prompts.length})`);
  }
  raw.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isFinite(s)) throw new NonFiniteError(`score of sample ${i}`, s as number, `${trainer} step ${step} (scoring)`);
  });
  const penalty = o.missingEosPenalty;
  const final = raw.map((s, b) => (penalty !== undefined && !ro.hitStop[b] ? s - penalty : s));
  return { raw, final };
}
