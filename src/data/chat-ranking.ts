/**
 * Ranking rows that carry a conversation: `{ "messages": [...], "responses": [...], "ranking": [...] }`,
 * the K candidate assistant replies to a conversation so far, read alongside the plain
 * `{ "prompt", "responses", "ranking" }` rows.
 * @module
 */
import { chatPrompt } from './chat-template';
import type { ChatMessage, RankingExample, RecordLocation } from './types';
import {
  asObject, checkAllowTies, conversationPromptProblem, fail, fieldProblemText, found, hasOwn, isRecord, parseRanking,
  rankedResponses, type ParseRankingOptions,
} from './validate';

const CHAT_RANKING_FIELDS = ['messages', 'responses', 'ranking'] as const;

/**
 * Validates one K-way ranking row, plain or conversational. A row with a `"messages"` field is a
 * conversation row: `{ "messages": [{ "role", "content" }, ...], "responses": string[], "ranking":
 * number[] }`, where `messages` is the conversation so far (non-empty, its last turn a user or system
 * turn, never an assistant turn) and each response is a candidate assistant reply; `"prompt"` is
 * optional there (display text; when absent it becomes `chatPrompt(messages)`, the conversation
 * rendered with the chat template). Any other row is read by {@link parseRanking}. The responses and
 * ranks are checked as {@link parseRanking} checks them. Extra fields are allowed and ignored.
 * @param obj - The parsed JSON value of the row.
 * @param where - The row's file and line, for the error message.
 * @param options - See {@link ParseRankingOptions}.
 * @returns A new {@link RankingExample}; for a conversation row it holds `messages` (fresh message
 *   objects with only `role` and `content`) and `prompt`.
 * @throws A {@link FileFormatError} at `where` naming the field (e.g. `messages[2].role`) and the problem.
 * @throws A {@link ConfigError} when `options.allowTies` is not a boolean.
 */
export function parseChatRanking(obj: unknown, where: RecordLocation, options: ParseRankingOptions = {}): RankingExample {
  if (!isRecord(obj) || !hasOwn(obj, 'messages')) return parseRanking(obj, where, options);
  const allowTies = checkAllowTies(options);
  const o = asObject(obj, where, 'conversation ranking', CHAT_RANKING_FIELDS);
  const problem = conversationPromptProblem(o.messages);
  if (problem !== undefined) fail(where, fieldProblemText(problem));
  const messages = (o.messages as ChatMessage[]).map((m) => ({ role: m.role, content: m.content }));
  if (hasOwn(o, 'prompt') && typeof o.prompt !== 'string') fail(where, `field "prompt" must be a string when given, ${found(o.prompt)}`);
  const prompt = typeof o.prompt === 'string' ? o.prompt : chatPrompt(messages);
  return { prompt, messages, ...rankedResponses(o, where, allowTies, CHAT_RANKING_FIELDS) };
}
