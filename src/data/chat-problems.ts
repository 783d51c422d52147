/**
 * Checks of chat messages and conversations, shared by the chat rows, the conversational ranking rows,
 * the feedback requests and the reward model: each returns the first {@link FieldProblem} or `undefined`.
 * @internal
 * @module
 */
import { previewValue } from '../errors';
import type { ChatMessage, ChatRole } from './types';
import { found, hasOwn, isRecord } from './fields';

/**
 * What is wrong with one field.
 * @internal
 */
export interface FieldProblem {
  /** Path of the offending value, e.g. `"messages[2].role"`. */
  path: string;
  /** The offending value (`undefined` when it is missing). */
  value: unknown;
  /** What is wrong, e.g. `"must be a string, found null"`. */
  reason: string;
}

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

/**
 * The message of a {@link FieldProblem} as a row error: `missing field "messages[0].content"` or
 * `field "messages[2].role" is ...`.
 * @internal
 */
export function fieldProblemText(problem: FieldProblem): string {
  return problem.reason === 'is missing' ? `missing field "${problem.path}"` : `field "${problem.path}" ${problem.reason}`;
}

/**
 * Finds the first problem in a list of chat messages, or `undefined` when it is valid: an array of
 * `{ role, content }` objects with a known role and string content. Extra fields on a message are
 * ignored.
 * @param messages - The value to check.
 * @param requireAssistant - Also require a non-empty list with at least one assistant turn.
 * @returns The path of the offending value (e.g. `"messages[2].role"`), the value and the reason.
 * @internal
 */
export function chatMessagesProblem(messages: unknown, requireAssistant: boolean): FieldProblem | undefined {
  if (!Array.isArray(messages)) return { path: 'messages', value: messages, reason: `must be an array, ${found(messages)}` };
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    const path = `messages[${i}]`;
    if (!isRecord(m)) return { path, value: m, reason: `must be an object with "role" and "content", ${found(m)}` };
    for (const key of ['role', 'content'] as const) {
      if (!hasOwn(m, key)) return { path: `${path}.${key}`, value: undefined, reason: 'is missing' };
      const v = m[key];
      if (typeof v !== 'string') return { path: `${path}.${key}`, value: v, reason: `must be a string, ${found(v)}` };
    }
    if (!ROLES.includes(m.role as ChatRole)) {
      const reason = `is ${previewValue(m.role)}, not a known role; expected "system", "user" or "assistant"`;
      return { path: `${path}.role`, value: m.role, reason };
    }
  }
  if (requireAssistant && messages.length === 0) {
    return { path: 'messages', value: messages, reason: 'is empty; a conversation needs an assistant turn' };
  }
  if (requireAssistant && !messages.some((m) => (m as ChatMessage).role === 'assistant')) {
    return { path: 'messages', value: messages, reason: 'has no assistant turn; there is nothing to train on' };
  }
  return undefined;
}

/**
 * Finds the first problem in a conversation that candidate replies answer (a ranking's or a label
 * request's `messages`), or `undefined` when it is valid: valid chat messages (see
 * {@link chatMessagesProblem}), at least one, the last not an assistant turn (the replies are the
 * assistant's next turn).
 * @param messages - The value to check.
 * @returns The path of the offending value (e.g. `"messages[3].role"`), the value and the reason.
 * @internal
 */
export function conversationPromptProblem(messages: unknown): FieldProblem | undefined {
  const problem = chatMessagesProblem(messages, false);
  if (problem !== undefined) return problem;
  const list = messages as ChatMessage[];
  if (list.length === 0) return { path: 'messages', value: list, reason: 'is empty; the replies need a conversation with at least one turn' };
  const last = list.length - 1;
  if ((list[last] as ChatMessage).role === 'assistant') {
    return { path: `messages[${last}].role`, value: 'assistant', reason: 'is the last turn; the conversation must end with a user (or system) turn, which the replies answer' };
  }
  return undefined;
}
