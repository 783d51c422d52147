/**
 * Options of multi-turn dialogue rollouts (`PPOTrainerOptions.dialogue`): where the next user turn
 * comes from, how many assistant turns a conversation may have, and what the reward scores. One
 * interface, each field documented once with its default, validated once by
 * {@link resolveDialogueOptions}.
 * @module
 */
import { ConfigError } from '../errors';
import type { ChatMessage } from '../data/types';
import { checkFunction, checkInteger, checkOneOf } from '../ops/validate';

/** Where a user-simulator call happens: which row of the batch and after which assistant turn. */
export interface UserTurnContext {
  /** Row of the rollout batch (0-based). */
  row: number;
  /** Assistant turns written so far in this conversation (1 after the first reply). */
  turn: number;
}

/**
 * Writes the next user turn of a conversation, or `null` to end it. Gets the conversation so far
 * (the prompt's messages, then the assistant and user turns of this rollout, ending with the
 * assistant's latest reply, decoded); the array is a copy the simulator may keep.
 */
export type UserSimulator = (
  conversation: ChatMessage[],
  context: UserTurnContext,
) => string | null | Promise<string | null>;

/**
 * One dialogue prompt: the opening messages (ending with a user or system turn), and optionally the
 * scripted user turns that follow (from a dataset): `userTurns[k]` is the user's reply to the
 * assistant's turn `k + 1`. When the script runs out, the {@link DialogueOptions.userSimulator} (if
 * any) writes the next user turn; without one the conversation ends.
 */
export interface DialogueSample {
  /** The conversation so far, rendered with the chat template; its last message is not an assistant turn. */
  messages: ChatMessage[];
  /** Scripted user turns after the assistant's replies, in order. Default: none. */
  userTurns?: string[];
}

/**
 * A dialogue prompt as `PPOTrainer.step` takes it: a plain string (one user message), a list of
 * chat messages, or a {@link DialogueSample} with scripted user turns.
 */
export type DialoguePrompt = string | ChatMessage[] | DialogueSample;

/** What the reward scores in a dialogue rollout. */
export type DialogueRewardPer = 'conversation' | 'turn';

/** Options of multi-turn dialogue rollouts (`PPOTrainerOptions.dialogue`). */
export interface DialogueOptions {
  /**
   * Writes the next user turn from the conversation so far; `null` ends the conversation. Scripted
   * turns of a {@link DialogueSample} come first. Default: none (only scripted turns).
   */
  userSimulator?: UserSimulator;
  /** Most assistant turns per conversation (each up to `maxNewTokens` tokens); integer >= 1. Default `3`. */
  maxTurns?: number;
  /**
   * `'conversation'`: the reward scores the whole conversation once, placed on its last token;
   * `'turn'`: it scores each assistant turn (with the conversation before it as the prompt), placed
   * on the last token of that turn. Default `'conversation'`.
   */
  rewardPer?: DialogueRewardPer;
}

/** {@link DialogueOptions} with defaults filled in; each field means what it means there. */
export interface ResolvedDialogueOptions {
  /** See {@link DialogueOptions.userSimulator}. */
  userSimulator?: UserSimulator;
  /** See {@link DialogueOptions.maxTurns}. */
  maxTurns: number;
  /** See {@link DialogueOptions.rewardPer}. */
  rewardPer: DialogueRewardPer;
}

/**
 * Validates dialogue options (throws {@link ConfigError} naming e.g. `PPOTrainerOptions.dialogue.maxTurns`)
 * and fills in the defaults.
 * @param o - the options.
 * @param name - the option's name in errors. Default `'dialogue'`.
 */
export function resolveDialogueOptions(o: DialogueOptions, name = 'dialogue'): ResolvedDialogueOptions {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ConfigError(name, o, 'must be a DialogueOptions object { userSimulator?, maxTurns?, rewardPer? }');
  const sim = o.userSimulator === undefined ? undefined
    : checkFunction<UserSimulator>(`${name}.userSimulator`, o.userSimulator, '(conversation, context) => string | null | Promise<string | null>');
  return {
    ...(sim === undefined ? {} : { userSimulator: sim }),
    maxTurns: checkInteger(`${name}.maxTurns`, o.maxTurns ?? 3, 1),
    rewardPer: checkOneOf(`${name}.rewardPer`, o.rewardPer ?? 'conversation', ['conversation', 'turn'] as const),
  };
}
