/**
 * One conversation being rolled out, token by token in the chat template of `data/chat-template.ts`
 * (the one SFT trains on): the prompt is `tokenizeChatPrompt(messages)`, each assistant turn is the
 * policy's sampled tokens ending in its stop token (EOS by default), and each user turn after it is
 * the template's context piece `<|user|>\n{content}\n<|assistant|>\n`, encoded as one piece exactly as
 * `tokenizeChat` encodes it. Tokens the policy wrote have mask 1; user-turn tokens (and tokens a tool
 * wrote) have mask 0, the mask PPO already uses for tool tokens.
 * @module
 */
import { InputError } from '../errors';
import { chatHeader, chatPrompt, tokenizeChatPrompt } from '../data/chat-template';
import { chatMessagesProblem } from '../data/validate';
import type { ChatMessage } from '../data/types';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { DialoguePrompt, DialogueSample } from './options';

/** What a dialogue rollout adds to a PPO rollout (`Rollout.dialogue`). */
export interface DialogueRolloutInfo {
  /** Each whole conversation: the prompt's messages, then the assistant and user turns of the rollout. */
  messages: ChatMessage[][];
  /** Per row, per assistant turn: its `[start, end)` response columns. */
  turns: [number, number][][];
  /** Per row, the user-turn tokens inside the response (all masked out of every loss). */
  userTokens: number[];
}

/** The state of one conversation during a dialogue rollout. @internal */
export interface ConversationState {
  /** The prompt as text (`chatPrompt` of the opening messages). */
  prompt: string;
  /** The whole conversation so far (prompt messages, then this rollout's turns). */
  messages: ChatMessage[];
  /** Scripted user turns still to come from the dataset. */
  userTurns: readonly string[];
  /** Prompt token ids (the opening messages and the open assistant header). */
  promptIds: number[];
  /** Token ids after the prompt: assistant turns and the user turns between them. */
  ids: number[];
  /** Aligned with `ids`: 1 where the policy wrote the token, 0 on user turns and tool-written tokens. */
  mask: number[];
  /** Per assistant turn, `[start, end)` in `ids`. */
  turns: [number, number][];
  /** User-turn tokens inserted (all masked out). */
  userTokens: number;
  /** Whether the latest assistant turn ended with a stop token. */
  hitStop: boolean;
  /** Whether the conversation goes on. */
  active: boolean;
  /** Tool calls in this conversation. */
  toolCalls: number;
  /** Tool calls whose result was an error. */
  toolErrors: number;
}

/**
 * A dialogue prompt as a {@link DialogueSample} (fresh arrays), checked: a string becomes one user
 * message; messages must be valid and non-empty and must not end with an assistant turn.
 * @throws {@link InputError} naming e.g. `prompts[2].messages[1].role`.
 */
export function toDialogueSample(p: DialoguePrompt, i: number): DialogueSample {
  const at = `prompts[${i}]`;
  if (typeof p === 'string') return { messages: [{ role: 'user', content: p }], userTurns: [] };
  const isSample = typeof p === 'object' && p !== null && !Array.isArray(p);
  const messages: unknown = isSample ? (p as DialogueSample).messages : p;
  const problem = chatMessagesProblem(messages, false);
  if (problem !== undefined) throw new InputError(isSample ? `${at}.${problem.path}` : problem.path.replace(/^messages/, at), problem.value, problem.reason);
  const list = messages as ChatMessage[];
  if (list.length === 0) throw new InputError(isSample ? `${at}.messages` : at, list, 'must hold at least one message');
  if (list[list.length - 1]?.role === 'assistant') throw new InputError(isSample ? `${at}.messages` : at, `${list.length} messages`, 'must not end with an assistant turn (the policy writes the next one)');
  const turns: unknown = isSample ? ((p as DialogueSample).userTurns ?? []) : [];
  if (!Array.isArray(turns) || turns.some((t) => typeof t !== 'string')) throw new InputError(`${at}.userTurns`, turns, 'must be an array of strings');
  return { messages: list.map((m) => ({ role: m.role, content: m.content })), userTurns: [...(turns as string[])] };
}

/**
 * Splits a recorded conversation (e.g. a chat dataset row) into a dialogue prompt: the messages
 * before the first assistant turn open the conversation, and every later user message becomes a
 * scripted user turn, in order; the recorded assistant replies (and later system turns) are dropped,
 * since the policy writes its own.
 * @param messages - The recorded conversation.
 * @returns The {@link DialogueSample}.
 * @throws {@link InputError} naming e.g. `messages[1].role`, or `messages` when no message precedes the first assistant turn.
 */
export function dialogueSampleFromChat(messages: readonly ChatMessage[]): DialogueSample {
  const problem = chatMessagesProblem(messages, false);
  if (problem !== undefined) throw new InputError(problem.path, problem.value, problem.reason);
  const first = messages.findIndex((m) => m.role === 'assistant');
  const opening = first < 0 ? messages : messages.slice(0, first);
  if (opening.length === 0) throw new InputError('messages', `${messages.length} messages`, 'must hold a user or system message before the first assistant turn');
  const userTurns = first < 0 ? [] : messages.slice(first).filter((m) => m.role === 'user').map((m) => m.content);
  return { messages: opening.map((m) => ({ role: m.role, content: m.content })), userTurns };
}

/** The state of a conversation before its first assistant turn. @internal */
export function startConversation(sample: DialogueSample, tokenizer: Tokenizer): ConversationState {
  return {
    prompt: chatPrompt(sample.messages), messages: sample.messages.map((m) => ({ ...m })), userTurns: sample.userTurns ?? [],
    promptIds: tokenizeChatPrompt(sample.messages, tokenizer), ids: [], mask: [], turns: [],
    userTokens: 0, hitStop: false, active: true, toolCalls: 0, toolErrors: 0,
  };
}

/**
 * Appends an assistant turn the policy sampled: its tokens (mask 1, except tool-written ones) and the
 * decoded message (the stop token removed). @internal
 */
export function addAssistantTurn(
  c: ConversationState,
  turn: { tokens: number[]; fromTool?: boolean[]; toolCalls?: number; toolErrors?: number },
  stops: ReadonlySet<number>,
  tokenizer: Tokenizer,
): void {
  const { tokens } = turn;
  const start = c.ids.length;
  tokens.forEach((t, j) => {
    c.ids.push(t);
    c.mask.push(turn.fromTool?.[j] ? 0 : 1);
  });
  c.turns.push([start, c.ids.length]);
  c.hitStop = tokens.length > 0 && stops.has(tokens[tokens.length - 1] as number);
  const content = c.hitStop ? tokens.slice(0, -1) : tokens;
  c.messages.push({ role: 'assistant', content: tokenizer.decode(content) });
  c.toolCalls += turn.toolCalls ?? 0;
  c.toolErrors += turn.toolErrors ?? 0;
}

/**
 * The token ids of a user turn between two assistant turns: the template's context piece
 * `<|user|>\n{content}\n<|assistant|>\n`, encoded as one piece as `tokenizeChat` does. @internal
 */
export function userTurnIds(content: string, tokenizer: Tokenizer): number[] {
  return tokenizer.encode(`${chatHeader('user')}${content}\n${chatHeader('assistant')}`);
}

/**
 * Appends a user turn (mask 0) if it and a following reply of `maxNewTokens` fit in `contextLength`;
 * otherwise ends the conversation. Returns whether the turn was added. @internal
 */
export function addUserTurn(c: ConversationState, content: string, tokenizer: Tokenizer, maxNewTokens: number, contextLength: number): boolean {
  const ids = userTurnIds(content, tokenizer);
  if (c.promptIds.length + c.ids.length + ids.length + maxNewTokens > contextLength) {
    c.active = false;
    return false;
  }
  for (const t of ids) {
    c.ids.push(t);
    c.mask.push(0);
  }
  c.userTokens += ids.length;
  c.messages.push({ role: 'user', content });
  return true;
}
