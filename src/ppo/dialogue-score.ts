/**
 * PPO stage 3 for multi-turn dialogue: the reward scores each whole conversation (placed, as for a
 * single response, on its last token) or each assistant turn, with the conversation before the turn as
 * its prompt (placed on the last token the policy wrote in that turn). Scoring itself is
 * {@link scoreRollout}'s, on one row per conversation or per turn.
 * @module
 */
import { chatPrompt } from '../data/chat-template';
import type { ChatMessage } from '../data/types';
import type { ResolvedDialogueOptions } from '../dialogue/options';
import type { DialogueRolloutInfo } from '../dialogue/conversation';
import type { RewardModel } from '../reward/reward-model';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { RewardFunction } from './options';
import type { Rollout } from './rollout';
import { scoreRollout, type ScoreOptions, type ScoredRows, type Scores } from './score';

/** Scores of a dialogue rollout. */
export interface DialogueScores extends Scores {
  /**
   * `[B * R]`, with `rewardPer: 'turn'` only: each turn's score at the response column of the turn's
   * last policy-written token, 0 elsewhere (`raw` and `final` then hold each conversation's sum).
   */
  tokenScores?: Float32Array;
}

/** One scoring row per assistant turn, and where each turn's score goes (`[row, column]`). */
function turnRows(ro: Rollout & { dialogue: DialogueRolloutInfo }): { rows: ScoredRows; places: [number, number][] } {
  const rows: ScoredRows & { dialogue: { messages: ChatMessage[][] } } = { prompts: [], promptIds: [], responseIds: [], hitStop: [], dialogue: { messages: [] } };
  const places: [number, number][] = [];
  const R = ro.responseLength;
  ro.dialogue.turns.forEach((turns, b) => {
    const ids = ro.responseIds[b] as number[];
    const messages = ro.dialogue.messages[b] as ChatMessage[];
    const first = messages.length - (2 * turns.length - 1); //  index of the rollout's first assistant message
    turns.forEach(([start, end], k) => {
      const at = first + 2 * k;
      rows.prompts.push(chatPrompt(messages.slice(0, at)));
      rows.promptIds.push([...(ro.promptIds[b] as number[]), ...ids.slice(0, start)]);
      rows.responseIds.push(ids.slice(start, end));
      rows.hitStop.push(k < turns.length - 1 || (ro.hitStop[b] as boolean));
      rows.dialogue.messages.push(messages.slice(0, at + 1));
      let last = end - 1;
      while (last > start && ro.responseMask[b * R + last] === 0) last--; // a tool-written last token: the policy's before it
      places.push([b, last]);
    });
  });
  return { rows, places };
}

/**
 * Stage 3 of a dialogue rollout: one score per conversation (`d.rewardPer === 'conversation'`), or
 * one per assistant turn, summed per conversation in `raw`/`final` and placed token by token in
 * `tokenScores`. The missing-EOS penalty applies to the reply that was cut off.
 * @throws {@link InputError} / {@link NonFiniteError} as {@link scoreRollout}.
 */
export async function scoreDialogue(
  reward: RewardModel | RewardFunction,
  ro: Rollout & { dialogue: DialogueRolloutInfo },
  tokenizer: Tokenizer,
  o: ScoreOptions,
  d: Pick<ResolvedDialogueOptions, 'rewardPer'>,
  step: number,
): Promise<DialogueScores> {
  if (d.rewardPer === 'conversation') return scoreRollout(reward, ro, tokenizer, o, step);
  const { rows, places } = turnRows(ro);
  const s = await scoreRollout(reward, rows, tokenizer, o, step);
  const B = ro.batch.batch;
  const R = ro.responseLength;
  const raw = new Array<number>(B).fill(0);
  const final = new Array<number>(B).fill(0);
  const tokenScores = new Float32Array(B * R);
  places.forEach(([b, t], i) => {
    raw[b] = (raw[b] as number) + (s.raw[i] as number);
    final[b] = (final[b] as number) + (s.final[i] as number);
    tokenScores[b * R + t] = (tokenScores[b * R + t] as number) + (s.final[i] as number);
  });
  return { raw, final, tokenScores };
}
