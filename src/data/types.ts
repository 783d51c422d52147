/**
 * Record types of the datasets, in the column conventions of Hugging Face TRL: SFT rows have
 * `prompt`/`completion`, preference rows `prompt`/`chosen`/`rejected`, chat rows `messages`.
 * @module
 */

/** One supervised fine-tuning example: the model learns to produce `completion` after `prompt`. */
export interface SFTExample {
  /** Context the model conditions on; no loss falls on it. May be empty. */
  prompt: string;
  /** Text the model learns to produce after the prompt. */
  completion: string;
}

/** One pairwise preference: for `prompt`, response `chosen` was preferred to `rejected`. */
export interface PreferencePair {
  /** The prompt both responses answer. */
  prompt: string;
  /** The preferred response. */
  chosen: string;
  /** The dispreferred response. */
  rejected: string;
}

/**
 * K responses to one prompt, ranked. `ranking[i]` is the rank of `responses[i]`: 0 is best,
 * larger is worse. Equal ranks are ties; a tie yields no preference pair
 * (see `preferencePairsFromRanking`).
 */
export interface RankingExample {
  /** The prompt every response answers. */
  prompt: string;
  /** The K ≥ 2 responses. */
  responses: string[];
  /** One integer rank in `[0, K)` per response, same length as {@link RankingExample.responses}. */
  ranking: number[];
  /**
   * The conversation so far, when the responses are candidate assistant replies to a conversation
   * (see {@link ChatRankingExample}). When present, models see it rendered with the chat template,
   * not `prompt`, which then holds display text (by default `chatPrompt(messages)`). Optional.
   */
  messages?: ChatMessage[];
}

/**
 * K candidate assistant replies to one conversation, ranked: the conversational form of
 * {@link RankingExample}. `messages` is the conversation so far (non-empty, ending with a user or
 * system turn, never an assistant turn); each response is the assistant's next turn. Reward models
 * and judges read the conversation rendered with the chat template SFT uses (`tokenizeChatPrompt`),
 * followed by the reply.
 */
export interface ChatRankingExample {
  /** The conversation so far; its last turn is not an assistant turn. */
  messages: ChatMessage[];
  /** The K ≥ 2 candidate assistant replies (plain text). */
  responses: string[];
  /** One integer rank in `[0, K)` per response, 0 best; equal ranks are ties. */
  ranking: number[];
  /** Display text of the conversation (readers fill in `chatPrompt(messages)` when absent). Optional. */
  prompt?: string;
}

/** Who speaks in a {@link ChatMessage}. */
export type ChatRole = 'system' | 'user' | 'assistant';

/** One turn of a conversation. */
export interface ChatMessage {
  /** The speaker: `'system'`, `'user'` or `'assistant'`. Loss falls on assistant turns only. */
  role: ChatRole;
  /** What was said. May be empty. */
  content: string;
}

/** One conversation, for chat fine-tuning (see `tokenizeChat`). */
export interface ChatExample {
  /** The turns in order; at least one is an assistant turn. */
  messages: ChatMessage[];
}

/** Where a record came from, for error messages: the file (or stream name) and its 1-based line. */
export interface RecordLocation {
  /** File path, or a description such as `"<stream>"`. */
  file: string;
  /** 1-based line number. */
  line: number;
}
