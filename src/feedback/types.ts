/**
 * The contract between the things that ask for judgements (`PreferenceCollector`, the rounds helper)
 * and the things that give them (people through `WebLabeler` / `TerminalLabeler`, models through
 * `JudgeLabeler`).
 * @module
 */
import type { ChatMessage } from '../data/types';

/** Criteria a labeller may rate each response on (InstructGPT's three), unless the user names others. */
export const DEFAULT_CRITERIA: readonly string[] = ['helpful', 'truthful', 'harmless'];

/** One item to judge: K responses to one prompt. */
export interface LabelRequest {
  /** Stable id of the item (the collector derives it from the prompt); echoed in the judgement's record. */
  id: string;
  /**
   * The prompt every response answers (plain text; never HTML). With `messages`, the conversation as
   * text (the collector sets `chatPrompt(messages)`), for labellers that read only text.
   */
  prompt: string;
  /**
   * The conversation so far, when the responses are candidate assistant replies to it: non-empty, the
   * last turn a user (or system) turn. Labellers show it turn by turn, with roles, before the responses;
   * a reward-model judge renders it with the chat template. Optional: absent for a plain prompt.
   */
  messages?: readonly ChatMessage[];
  /** The K ≥ 2 responses to rank (plain text; never HTML). */
  responses: readonly string[];
  /** Criteria to rate, each on the integer scale 1 (worst) to 7 (best). Empty or absent: no ratings. */
  criteria?: readonly string[];
}

/** A ranking of the responses of a {@link LabelRequest}. */
export interface RankedJudgement {
  /** Discriminant. */
  kind: 'ranked';
  /**
   * One integer rank per response, in the `RankingExample` convention: `ranking[i]` is the rank of
   * `responses[i]`, 0 is best; equal ranks are ties.
   */
  ranking: number[];
  /** Per-criterion ratings: criterion name to one integer in [1, 7] per response. Optional. */
  ratings?: Record<string, number[]>;
  /** Indices of responses the labeller flagged as unacceptable (harmful, broken). Optional. */
  flagged?: number[];
  /** Free-text comment. Optional. */
  note?: string;
}

/** The labeller declined to judge the item (too hard, all responses broken, not their field). */
export interface SkippedJudgement {
  /** Discriminant. */
  kind: 'skipped';
  /** Why, when the labeller said. Optional. */
  reason?: string;
}

/** What a {@link Labeler} returns for one request. */
export type Judgement = RankedJudgement | SkippedJudgement;

/**
 * Anything that ranks K responses: a person behind a page or a terminal, or a judge model.
 * Implementations validate what they return (a permutation-compatible ranking of the right length)
 * and throw a typed error instead of guessing.
 */
export interface Labeler {
  /** Who judges, recorded in every record (e.g. `"web"`, `"terminal"`, `"judge:gpt-4o-mini"`). */
  readonly name: string;
  /**
   * Judges one item.
   * @param request - The prompt and its K responses.
   * @param signal - Aborts the wait (e.g. the user stopped the session).
   */
  label(request: LabelRequest, signal?: AbortSignal): Promise<Judgement>;
  /** Releases what the labeller holds (a server, a readline interface). Optional. */
  close?(): Promise<void>;
}
