/**
 * The pairwise (Bradley-Terry) reward-model loss and the grouping of comparisons by prompt.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { ChatMessage, ChatRankingExample, PreferencePair, RankingExample } from '../data/types';
import { chatPrompt } from '../data/chat-template';
import { conversationPromptProblem } from '../data/validate';

/**
 * Per-pair loss `-log sigmoid(r_chosen - r_rejected - margin)` (computed stably as
 * `softplus(-(d - margin))`). Tensors `[P]`; returns `[P]`.
 */
export function pairwiseLoss(chosen: tf.Tensor1D, rejected: tf.Tensor1D, margin: number | tf.Tensor1D = 0): tf.Tensor1D {
  return tf.softplus(tf.neg(tf.sub(tf.sub(chosen, rejected), margin))) as tf.Tensor1D;
}

/** All comparisons of one prompt: distinct responses and (better, worse) index pairs into them. */
export interface PromptGroup {
  /** The prompt text (for a conversation: the record's `prompt`, else `chatPrompt(messages)`). */
  prompt: string;
  /** The conversation the responses answer, for a conversation record; models see it, not `prompt`. */
  messages?: ChatMessage[];
  /** Distinct responses, in first-seen order. */
  responses: string[];
  /** `[chosen, rejected]` indices into {@link PromptGroup.responses}. */
  pairs: [number, number][];
  /** Index of the first input record of this prompt (for error messages). */
  firstRecord: number;
}

/**
 * A comparison record: a pair, a K-way ranking, or a K-way ranking of candidate replies to a
 * conversation (`{ messages, responses, ranking }`, or a ranking with `messages`).
 */
export type ComparisonRecord = PreferencePair | RankingExample | ChatRankingExample;

function isRanking(r: ComparisonRecord): r is RankingExample | ChatRankingExample {
  return Array.isArray((r as RankingExample).responses);
}

/** The prompt text and (for a conversation record) a checked copy of its messages. */
function recordPrompt(r: ComparisonRecord, i: number): { prompt: string; messages?: ChatMessage[] } {
  if (typeof r !== 'object' || r === null) throw new InputError(`data[${i}]`, r, 'must be a comparison record');
  const messages = (r as ChatRankingExample).messages;
  if (messages === undefined) {
    if (typeof r.prompt !== 'string') throw new InputError(`data[${i}].prompt`, r.prompt, 'must be a string (or give "messages", a conversation)');
    return { prompt: r.prompt };
  }
  const problem = conversationPromptProblem(messages);
  if (problem !== undefined) throw new InputError(`data[${i}].${problem.path}`, problem.value, problem.reason);
  if (r.prompt !== undefined && typeof r.prompt !== 'string') throw new InputError(`data[${i}].prompt`, r.prompt, 'must be a string when given');
  const copy = messages.map((m) => ({ role: m.role, content: m.content }));
  return { prompt: r.prompt ?? chatPrompt(copy), messages: copy };
}

/**
 * One group per record: a pair gives one comparison, a K-way ranking its C(K,2) pairs minus ties
 * (equal ranks give no pair); the response with the lower rank number is chosen. Records are not
 * merged by prompt text, so a group's size is what the labeller ranked at once (InstructGPT). A
 * conversation record's `messages` are checked (non-empty, valid turns, not ending with an assistant
 * turn) and kept on its group.
 * @throws An {@link InputError} naming e.g. `data[3].messages[2].role` or `data[0].rejected`.
 */
export function groupComparisons(records: readonly ComparisonRecord[]): PromptGroup[] {
  return records.map((r, i) => {
    const g: PromptGroup = { ...recordPrompt(r, i), responses: [], pairs: [], firstRecord: i };
    const index = new Map<string, number>();
    const idx = (text: unknown, where: string): number => {
      if (typeof text !== 'string') throw new InputError(`data[${i}].${where}`, text, 'must be a string');
      let k = index.get(text);
      if (k === undefined) {
        k = g.responses.length;
        g.responses.push(text);
        index.set(text, k);
      }
      return k;
    };
    if (isRanking(r)) {
      if (!Array.isArray(r.ranking) || r.ranking.length !== r.responses.length) {
        throw new InputError(`data[${i}].ranking`, r.ranking, `must have one rank per response (${r.responses.length})`);
      }
      const ids = r.responses.map((t, k) => idx(t, `responses[${k}]`));
      for (let a = 0; a < ids.length; a++) {
        for (let b = a + 1; b < ids.length; b++) {
          const ra = r.ranking[a] as number;
          const rb = r.ranking[b] as number;
          if (ra === rb || ids[a] === ids[b]) continue;
          g.pairs.push(ra < rb ? [ids[a] as number, ids[b] as number] : [ids[b] as number, ids[a] as number]);
        }
      }
    } else {
      const w = idx(r.chosen, 'chosen');
      const l = idx(r.rejected, 'rejected');
      if (w === l) throw new InputError(`data[${i}].rejected`, r.rejected, 'equals chosen; a comparison needs two different responses');
      g.pairs.push([w, l]);
    }
    if (g.pairs.length === 0) throw new InputError(`data[${i}]`, g.prompt, 'gives no comparison (all its responses are tied or identical)');
    return g;
  });
}

/** The comparison matrices of a batch of prompt groups whose responses are concatenated in group order. */
export interface PairMatrices {
  /** `[P, N]`: +1 at the chosen response's row, -1 at the rejected one's. */
  diff: Float32Array;
  /** `[P, N]`: +1 at both rows. */
  sum: Float32Array;
  /** `[P]`: each pair weighted `1 / (pairs of its group * weightGroups)`. */
  weight: Float32Array;
  /** Pairs `P`. */
  nPairs: number;
}

/**
 * Builds {@link PairMatrices} for `groups` (each `rows` responses and its `[winner, loser]` row pairs,
 * indices within the group). `weightGroups` is the number of groups the weights are normalised over:
 * the groups here, or all groups of a step when these are one shard of it.
 * @internal
 */
export function pairMatrices(
  groups: readonly { rows: number; pairs: readonly (readonly [number, number])[] }[],
  weightGroups: number = groups.length,
): PairMatrices {
  const N = groups.reduce((a, g) => a + g.rows, 0);
  const P = groups.reduce((a, g) => a + g.pairs.length, 0);
  const diff = new Float32Array(P * N);
  const sum = new Float32Array(P * N);
  const weight = new Float32Array(P);
  let p = 0;
  let offset = 0;
  for (const g of groups) {
    for (const [w, l] of g.pairs) {
      diff[p * N + offset + w] = 1;
      diff[p * N + offset + l] = -1;
      sum[p * N + offset + w] = 1;
      sum[p * N + offset + l] = 1;
      weight[p] = 1 / (g.pairs.length * weightGroups);
      p++;
    }
    offset += g.rows;
  }
  return { diff, sum, weight, nPairs: P };
}
