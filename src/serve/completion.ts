/**
 * One chat completion from a policy: generation in chunks of tokens, cut at EOS, at the next turn
 * header of the chat template or at a stop string, with text released incrementally for streaming
 * (never a partial UTF-8 character, never the beginning of what may turn out to be a stop string).
 * @internal
 * @module
 */
import type { TransformerPolicy } from '../models/policy';
import type { Tokenizer } from '../tokenizers/tokenizer';

/** Turn headers of the chat template (without their newline): the reply ends where one begins. */
export const TURN_HEADERS: readonly string[] = ['<|system|>', '<|user|>', '<|assistant|>'];

/** Settings of one completion. */
export interface CompletionParams {
  /** Prompt ids (the chat template, ending with the open assistant header). */
  promptIds: number[];
  /** Most tokens to generate. */
  maxTokens: number;
  /** Sampling temperature (0 = greedy). */
  temperature: number;
  /** Nucleus mass. */
  topP: number;
  /** Stop strings besides EOS and the turn headers. */
  stop: readonly string[];
  /** Seed of each chunk's sampling, in turn; `undefined` uses the policy's own random stream. */
  nextSeed: () => number | undefined;
  /** Tokens generated per `policy.generate` call (also the streaming granularity). */
  chunkTokens: number;
  /** Receives each new piece of text as soon as it is final. */
  onDelta?: (text: string) => void;
  /** Polled between chunks; `true` stops generation (the client went away). */
  cancelled?: () => boolean;
}

/** What one completion produced. */
export interface CompletionResult {
  /** The reply text (stop string or header excluded). */
  text: string;
  /** Tokens of the reply: up to the one completing the stop string, EOS included when generated. */
  completionTokens: number;
  /** `'stop'` at EOS or a stop string, `'length'` at the token limit. */
  finishReason: 'stop' | 'length';
}

/** Earliest occurrence of any stop string in `text`. */
export function findStop(text: string, stops: readonly string[]): number | undefined {
  let best: number | undefined;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at >= 0 && (best === undefined || at < best)) best = at;
  }
  return best;
}

/** How much of `text` is safe to release: no trailing U+FFFD, no suffix that begins a stop string. */
export function releasable(text: string, stops: readonly string[]): number {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0xfffd) end--;
  let hold = 0;
  for (const s of stops) {
    for (let l = Math.min(s.length - 1, end); l > hold; l--) {
      if (text.slice(end - l, end) === s.slice(0, l)) {
        hold = l;
        break;
      }
    }
  }
  return end - hold;
}

/** Smallest number of tokens from `from` on whose decoding contains a stop string. */
function tokensToStop(ids: number[], from: number, tokenizer: Tokenizer, stops: readonly string[]): number {
  for (let k = from + 1; k < ids.length; k++) {
    if (findStop(tokenizer.decode(ids.slice(0, k)), stops) !== undefined) return k;
  }
  return ids.length;
}

/** Generates one reply. Leaves no tensors behind (policy.generate does not). */
export async function complete(policy: TransformerPolicy, tokenizer: Tokenizer, p: CompletionParams): Promise<CompletionResult> {
  const stops = [...TURN_HEADERS, ...p.stop];
  const eos = tokenizer.eosId;
  const ids: number[] = [];
  let released = 0;
  const release = (text: string, upTo: number): void => {
    if (upTo > released) p.onDelta?.(text.slice(released, upTo));
    released = Math.max(released, upTo);
  };
  while (ids.length < p.maxTokens && !(p.cancelled?.() ?? false)) {
    const before = ids.length;
    const seed = p.nextSeed();
    const { tokens } = await policy.generate([[...p.promptIds, ...ids]], {
      maxNewTokens: Math.min(p.chunkTokens, p.maxTokens - ids.length),
      temperature: p.temperature,
      topP: p.topP,
      stopTokens: [eos],
      ...(seed === undefined ? {} : { seed }),
    });
    const chunk = tokens[0] ?? [];
    const hitEos = chunk.length > 0 && chunk[chunk.length - 1] === eos;
    ids.push(...(hitEos ? chunk.slice(0, -1) : chunk));
    const text = tokenizer.decode(ids);
    const cut = findStop(text, stops);
    if (cut !== undefined) {
      release(text, cut);
      return { text: text.slice(0, cut), completionTokens: tokensToStop(ids, before, tokenizer, stops), finishReason: 'stop' };
    }
    if (hitEos) {
      release(text, text.length);
      return { text, completionTokens: ids.length + 1, finishReason: 'stop' };
    }
    release(text, releasable(text, stops));
  }
  const text = tokenizer.decode(ids);
  release(text, text.length);
  return { text, completionTokens: ids.length, finishReason: ids.length >= p.maxTokens ? 'length' : 'stop' };
}
