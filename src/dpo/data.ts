/**
 * Preference data for DPO: the inputs `RewardTrainer` takes (pairs `{prompt, chosen, rejected}`,
 * K-way `{prompt, responses, ranking}` with ties) plus TRL's conversational preference rows
 * (`prompt` / `chosen` / `rejected` as chat messages, or `chosen` / `rejected` as whole
 * conversations with an implicit shared prompt), encoded once into prompt and response token ids.
 * @module
 */
import { InputError } from '../errors';
import type { ChatMessage, ChatRankingExample, PreferencePair, RankingExample } from '../data/types';
import { tokenizeChatPrompt } from '../data/chat-template';
import type { Tokenizer } from '../tokenizers/tokenizer';

/** A pair whose prompt, chosen and rejected are chat messages (TRL's conversational format). */
export interface ChatPreferencePair {
  /** The conversation so far; omit it to take the shared prefix of `chosen` and `rejected`. */
  prompt?: ChatMessage[] | string;
  /** The preferred assistant turn(s), or the whole preferred conversation. */
  chosen: ChatMessage[] | string;
  /** The dispreferred assistant turn(s), or the whole dispreferred conversation. */
  rejected: ChatMessage[] | string;
}

/**
 * Anything {@link DPOTrainer} trains on: a pair, a K-way ranking (ties allowed; with `messages`, of
 * replies to a conversation, rendered with the chat template) or a chat pair.
 */
export type PreferenceRecord = PreferencePair | RankingExample | ChatRankingExample | ChatPreferencePair;

/** One record encoded: a prompt, its distinct responses, their ranks (0 best) and the derived pairs. */
export interface EncodedPreference {
  /** Prompt token ids. */
  prompt: number[];
  /** Response token ids (EOS appended when asked). */
  responses: number[][];
  /** Rank of each response, smaller is better; equal ranks are ties. */
  ranks: number[];
  /** `[better, worse]` response indices: C(K,2) pairs minus ties. */
  pairs: [number, number][];
  /** Index of the input record. */
  record: number;
}

/** How records are encoded. */
export interface EncodeOptions {
  /** The tokenizer. */
  tokenizer: Tokenizer;
  /** Append EOS to every response. */
  appendEos: boolean;
  /** Context length of the policy. */
  contextLength: number;
  /** Throw when too long, or drop prompt tokens from the left. */
  truncatePrompt: 'error' | 'left';
}

const isMessages = (x: unknown): x is ChatMessage[] => Array.isArray(x);

function assistantText(msgs: ChatMessage[], where: string): string {
  msgs.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || m.role !== 'assistant' || typeof m.content !== 'string') {
      throw new InputError(`${where}[${i}]`, (m as { role?: unknown } | null)?.role, "must be an assistant message { role: 'assistant', content }");
    }
  });
  if (msgs.length === 0) throw new InputError(where, msgs.length, 'needs at least one assistant message');
  return msgs.map((m) => m.content).join('\n');
}

/** Prompt ids and response texts of one record (chat rows rendered with the chat template). */
function split(r: PreferenceRecord, i: number, tok: Tokenizer): { prompt: number[]; texts: string[]; ranks: number[] } {
  if (typeof r !== 'object' || r === null) throw new InputError(`data[${i}]`, r, 'must be a preference record');
  if (Array.isArray((r as RankingExample).responses)) {
    const k = r as RankingExample;
    // A ranking of replies to a conversation (`messages`) is rendered with the chat template.
    const conversation = Array.isArray(k.messages) ? tokenizeChatPrompt(k.messages, tok) : undefined;
    if (conversation === undefined && typeof k.prompt !== 'string') throw new InputError(`data[${i}].prompt`, k.prompt, 'must be a string');
    if (!Array.isArray(k.ranking) || k.ranking.length !== k.responses.length || !k.ranking.every((x) => Number.isFinite(x))) {
      throw new InputError(`data[${i}].ranking`, k.ranking, `must hold one finite rank per response (${k.responses.length})`);
    }
    k.responses.forEach((t, j) => { if (typeof t !== 'string') throw new InputError(`data[${i}].responses[${j}]`, t, 'must be a string'); });
    return { prompt: conversation ?? tok.encode(k.prompt), texts: [...k.responses], ranks: [...k.ranking] };
  }
  const p = r as ChatPreferencePair;
  let { chosen, rejected, prompt } = p;
  if (prompt === undefined && isMessages(chosen) && isMessages(rejected)) {
    let n = 0;
    while (n < chosen.length - 1 && n < rejected.length - 1 && JSON.stringify(chosen[n]) === JSON.stringify(rejected[n])) n++;
    prompt = chosen.slice(0, n);
    chosen = chosen.slice(n);
    rejected = rejected.slice(n);
  }
  const text = (x: unknown, f: string) => {
    if (typeof x === 'string') return x;
    if (isMessages(x)) return assistantText(x, `data[${i}].${f}`);
    throw new InputError(`data[${i}].${f}`, x, 'must be a string or chat messages');
  };
  const ids = typeof prompt === 'string' ? tok.encode(prompt) : isMessages(prompt) ? tokenizeChatPrompt(prompt, tok) : undefined;
  if (ids === undefined) throw new InputError(`data[${i}].prompt`, prompt, 'must be a string or chat messages');
  return { prompt: ids, texts: [text(chosen, 'chosen'), text(rejected, 'rejected')], ranks: [0, 1] };
}

/** Encodes preference records; throws {@link InputError} naming `data[i]` for anything malformed. */
export function encodePreferences(data: readonly PreferenceRecord[], o: EncodeOptions): EncodedPreference[] {
  if (!Array.isArray(data) || data.length === 0) throw new InputError('data', Array.isArray(data) ? 0 : data, 'must be a non-empty array of preference records');
  return data.map((r, i) => {
    const s = split(r, i, o.tokenizer);
    const index = new Map<string, number>();
    const texts: string[] = [];
    const ranks: number[] = [];
    s.texts.forEach((t, k) => {
      const prev = index.get(t);
      if (prev === undefined) {
        index.set(t, texts.length);
        texts.push(t);
        ranks.push(s.ranks[k] as number);
      } else if (ranks[prev] !== s.ranks[k]) throw new InputError(`data[${i}]`, t.slice(0, 40), 'the same response has two different ranks');
    });
    const pairs: [number, number][] = [];
    for (let a = 0; a < texts.length; a++) for (let b = 0; b < texts.length; b++) if ((ranks[a] as number) < (ranks[b] as number)) pairs.push([a, b]);
    if (pairs.length === 0) throw new InputError(`data[${i}]`, texts.length, 'gives no comparison (all its responses are tied or identical)');
    const eos = o.appendEos ? [o.tokenizer.eosId] : [];
    const responses = texts.map((t) => [...o.tokenizer.encode(t), ...eos]);
    responses.forEach((x, k) => { if (x.length === 0) throw new InputError(`data[${i}] response ${k}`, '', 'encodes to no tokens'); });
    let prompt = s.prompt;
    const longest = Math.max(...responses.map((x) => x.length));
    if (prompt.length + longest > o.contextLength) {
      if (o.truncatePrompt === 'error' || longest >= o.contextLength) {
        throw new InputError(`data[${i}]`, `${prompt.length} prompt + ${longest} response tokens`, `exceeds contextLength = ${o.contextLength}${o.truncatePrompt === 'error' ? " (set truncatePrompt: 'left' to drop prompt tokens)" : ''}`);
      }
      prompt = prompt.slice(prompt.length - (o.contextLength - longest));
    }
    if (prompt.length === 0) throw new InputError(`data[${i}].prompt`, '', 'encodes to no tokens');
    return { prompt, responses, ranks, pairs, record: i };
  });
}
