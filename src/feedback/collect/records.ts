/**
 * The records `PreferenceCollector` writes and reads back: prompt ids, the ranked and skipped
 * record shapes, the skipped-items sidecar file, and the checked items a session works through.
 * @module
 */
import { FileFormatError, InputError } from '../../errors';
import { conversationPromptProblem } from '../../data/validate';
import { chatPrompt } from '../../data/chat-template';
import type { ChatMessage } from '../../data/types';
import { fnv1a64Hex } from '../../ops/hash';
import type { RankedJudgement, SkippedJudgement } from '../types';

/**
 * What `PreferenceCollector.collect` asks about: a prompt (plain text, encoded as is), or a
 * conversation so far (rendered with the chat template, `tokenizeChatPrompt`; non-empty, its last turn
 * not an assistant turn), whose K sampled responses are candidate assistant replies.
 */
export type CollectPrompt = string | readonly ChatMessage[];

/** A ranked item as written to the main file (a `RankingExample` plus metadata). */
export interface RankedRecord {
  /** {@link promptId} of the prompt (or conversation). */
  id: string;
  /** The prompt; for a conversation, `chatPrompt(messages)`. */
  prompt: string;
  /** The conversation the responses answer, when the item was a conversation. */
  messages?: ChatMessage[];
  /** The K sampled responses, decoded. */
  responses: string[];
  /** `ranking[i]` is the rank of `responses[i]`, 0 best; equal ranks are ties. */
  ranking: number[];
  /** Per-criterion ratings 1..7, one per response, when the labeller gave them. */
  ratings?: Record<string, number[]>;
  /** Indices of responses the labeller flagged. */
  flagged?: number[];
  /** The labeller's comment. */
  note?: string;
  /** The labeller's name. */
  labeler: string;
  /** When the judgement was saved (ISO 8601). */
  time: string;
}

/** A skipped item as written to the sidecar file. */
export interface SkippedRecord {
  /** {@link promptId} of the prompt (or conversation). */
  id: string;
  /** The prompt; for a conversation, `chatPrompt(messages)`. */
  prompt: string;
  /** The conversation, when the item was a conversation. */
  messages?: ChatMessage[];
  /** The responses that were shown. */
  responses: string[];
  /** Always `true`. */
  skipped: true;
  /** The labeller's reason, if given. */
  reason?: string;
  /** The labeller's name. */
  labeler: string;
  /** When it was saved (ISO 8601). */
  time: string;
}

/**
 * Stable id of a prompt: FNV-1a (64-bit) of its UTF-8 bytes, as 16 hex digits. For a conversation,
 * of `"\u0000chat"` followed by the JSON of its `[role, content]` pairs (so turn boundaries count).
 * @param prompt - The prompt text, or a conversation.
 * @returns The id.
 */
export function promptId(prompt: string | readonly ChatMessage[]): string {
  if (typeof prompt === 'string') return fnv1a64Hex(prompt);
  return fnv1a64Hex(`\u0000chat${JSON.stringify(prompt.map((m) => [m.role, m.content]))}`);
}

/**
 * The sidecar file of skipped items: `file` with `.jsonl` replaced by `.skipped.jsonl` (or that suffix
 * added). Kept apart so the main file stays readable by `readRankings`.
 * @param file - The main JSONL file.
 * @returns The sidecar's path.
 */
export function skippedFileOf(file: string): string {
  return `${file.endsWith('.jsonl') ? file.slice(0, -'.jsonl'.length) : file}.skipped.jsonl`;
}

/** One item to collect: its id, its text and (for a conversation) a copy of its messages. @internal */
export interface Item {
  /** {@link promptId} of the prompt (or conversation). */
  id: string;
  /** The prompt; for a conversation, `chatPrompt(messages)`. */
  prompt: string;
  /** A copy of the conversation, when the item is one. */
  messages?: ChatMessage[];
}

/**
 * Checks the prompts of `PreferenceCollector.collect` and turns them into items.
 * @internal
 */
export function itemsOf(prompts: readonly CollectPrompt[]): Item[] {
  if (!Array.isArray(prompts)) throw new InputError('prompts', prompts, 'must be an array of strings or conversations');
  return prompts.map((p: unknown, i) => {
    if (typeof p === 'string') return { id: promptId(p), prompt: p };
    if (!Array.isArray(p)) throw new InputError(`prompts[${i}]`, p, 'must be a string or a conversation (an array of chat messages)');
    const problem = conversationPromptProblem(p);
    if (problem !== undefined) throw new InputError(`prompts[${i}]${problem.path.slice('messages'.length)}`, problem.value, problem.reason);
    const messages = (p as ChatMessage[]).map((m) => ({ role: m.role, content: m.content }));
    return { id: promptId(messages), prompt: chatPrompt(messages), messages };
  });
}

/**
 * The id of a saved record: its `id` field, else the id of its `prompt`.
 * @internal
 */
export function idOf(value: unknown, file: string, line: number): string {
  const o = (typeof value === 'object' && value !== null ? value : {}) as { id?: unknown; prompt?: unknown };
  if (typeof o.id === 'string') return o.id;
  if (typeof o.prompt === 'string') return promptId(o.prompt);
  throw new FileFormatError(file, 'a collected record needs a string "id" or "prompt"', line);
}

/**
 * The main-file record of a ranked judgement.
 * @internal
 */
export function rankedRecord({ id, prompt, messages }: Item, responses: string[], j: RankedJudgement, labeler: string, time: string): RankedRecord {
  return {
    id, prompt, ...(messages !== undefined && { messages }), responses, ranking: j.ranking,
    ...(j.ratings !== undefined && { ratings: j.ratings }),
    ...(j.flagged !== undefined && { flagged: j.flagged }),
    ...(j.note !== undefined && { note: j.note }),
    labeler, time,
  };
}

/**
 * The sidecar record of a skipped judgement.
 * @internal
 */
export function skippedRecord({ id, prompt, messages }: Item, responses: string[], j: SkippedJudgement, labeler: string, time: string): SkippedRecord {
  return { id, prompt, ...(messages !== undefined && { messages }), responses, skipped: true, ...(j.reason !== undefined && { reason: j.reason }), labeler, time };
}
