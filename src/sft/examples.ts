/**
 * Turning SFT examples (prompt/completion text, chat conversations, or pre-tokenized ids) into
 * training sequences: token ids plus an aligned loss mask, checked against the model's vocabulary and
 * context length, with explicit (never silent) prompt truncation.
 *
 * Every format becomes one sequence `ids` with `lossMask[i] = 1` where token `i` is a target:
 *
 * - `{ prompt, completion }`: `encode(prompt) ++ encode(completion) ++ [eosId]`, loss on the
 *   completion and the EOS;
 * - `{ promptIds, completionIds }`: `promptIds ++ completionIds ++ [eosId]`, loss likewise;
 * - `{ messages }`: {@link tokenizeChat}'s ids and loss mask (assistant turns and their EOS).
 *
 * The first token of a sequence has no context, so it can never be a target: an empty prompt is
 * replaced by `[bosId]` (generate from `[bosId]` to sample such completions). An empty completion is
 * an error (it would teach nothing but an immediate EOS; pass `completionIds` of real tokens instead).
 * @module
 */
import { InputError } from '../errors';
import { isRecord } from '../io/objects';
import { tokenizeChat } from '../data/chat-template';
import type { ChatExample, SFTExample } from '../data/types';
import type { Tokenizer } from '../tokenizers/tokenizer';

/** A pre-tokenized SFT example. The EOS is appended by the trainer: `completionIds` must not end with it. */
export interface TokenizedSFTExample {
  /** Token ids of the context; no loss falls on them. May be empty (then `[bosId]` is used). */
  promptIds: readonly number[];
  /** Token ids the model learns to produce after the prompt; non-empty. */
  completionIds: readonly number[];
}

/** Any example {@link SFTTrainer} accepts: text, a conversation, or pre-tokenized ids. */
export type SFTInput = SFTExample | ChatExample | TokenizedSFTExample;

/** How to handle an example longer than the context: throw, or drop prompt tokens from the left. */
export type TruncatePrompt = 'error' | 'left';

/** One training sequence: token ids and, aligned with them, which tokens are targets. */
export interface SFTSequence {
  /** Token ids, at most `contextLength` of them, at least 2. */
  ids: number[];
  /** Same length as `ids`: 1 where the token carries loss, else 0; `lossMask[0]` is always 0. */
  lossMask: number[];
}

/** What {@link prepareSequences} needs to know. */
export interface PrepareOptions {
  /** Encodes text; supplies `eosId` (appended to completions) and `bosId` (for empty prompts). */
  tokenizer: Tokenizer;
  /** The model's vocabulary size: every id must lie in `[0, vocabSize)`. */
  vocabSize: number;
  /** The model's context length: the longest sequence allowed. */
  contextLength: number;
  /** What to do with a sequence longer than `contextLength`. */
  truncatePrompt: TruncatePrompt;
}

/** The sequences plus how many of them had prompt tokens dropped. */
export interface PreparedSequences {
  /** One sequence per example, in order. */
  sequences: SFTSequence[];
  /** Number of examples whose prompt was truncated from the left. */
  truncated: number;
}


/** Checks a row of ids from a pre-tokenized example. */
function checkIds(ids: unknown, path: string, vocabSize: number): asserts ids is readonly number[] {
  if (!Array.isArray(ids)) throw new InputError(path, ids, 'must be an array of token ids');
  ids.forEach((id: unknown, t) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InputError(`${path}[${t}]`, id, `must be an integer token id in [0, ${vocabSize})`);
    }
  });
}

/** `prompt ++ completion ++ [eos]` with loss on the completion and the EOS. */
function promptCompletion(prompt: readonly number[], completion: readonly number[], tok: Tokenizer): SFTSequence {
  const p = prompt.length > 0 ? [...prompt] : [tok.bosId];
  const ids = [...p, ...completion, tok.eosId];
  const lossMask = ids.map((_, i) => (i < p.length ? 0 : 1));
  return { ids, lossMask };
}

/** The sequence of one example, before any length check. */
function toSequence(ex: unknown, path: string, o: PrepareOptions): SFTSequence {
  const tok = o.tokenizer;
  if (!isRecord(ex)) {
    throw new InputError(path, ex, 'must be { prompt, completion }, { messages } or { promptIds, completionIds }');
  }
  if ('messages' in ex) {
    try {
      const { ids, lossMask } = tokenizeChat(ex.messages as ChatExample['messages'], tok);
      lossMask[0] = 0;
      return { ids, lossMask };
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${path}.${e.param}`, e.value, e.reason);
      throw e;
    }
  }
  if ('promptIds' in ex || 'completionIds' in ex) {
    checkIds(ex.promptIds, `${path}.promptIds`, o.vocabSize);
    checkIds(ex.completionIds, `${path}.completionIds`, o.vocabSize);
    if (ex.completionIds.length === 0) throw new InputError(`${path}.completionIds`, [], 'is empty: there is nothing to learn');
    if (ex.completionIds.at(-1) === tok.eosId) {
      throw new InputError(`${path}.completionIds`, tok.eosId, 'must not end with eosId: the trainer appends the EOS itself');
    }
    return promptCompletion(ex.promptIds, ex.completionIds, tok);
  }
  for (const key of ['prompt', 'completion'] as const) {
    if (typeof ex[key] !== 'string') throw new InputError(`${path}.${key}`, ex[key], 'must be a string');
  }
  if (ex.completion === '') throw new InputError(`${path}.completion`, '', 'is empty: there is nothing to learn');
  return promptCompletion(tok.encode(ex.prompt as string), tok.encode(ex.completion as string), tok);
}

/**
 * Fits a sequence into the context. The "prompt" is every token before the first target; with
 * `'left'` its leftmost tokens are dropped, keeping at least one (the first target needs context).
 * Returns the sequence (possibly shortened) and whether it was truncated.
 */
function fitContext(seq: SFTSequence, path: string, o: PrepareOptions): { seq: SFTSequence; truncated: boolean } {
  const n = seq.ids.length;
  const ctx = o.contextLength;
  if (n <= ctx) return { seq, truncated: false };
  const promptTokens = seq.lossMask.indexOf(1);
  const lengths = { promptTokens, completionTokens: n - promptTokens };
  if (o.truncatePrompt === 'error') {
    throw new InputError(path, lengths, `prompt + completion + EOS = ${n} tokens exceeds contextLength = ${ctx}; `
      + "shorten the example or set truncatePrompt: 'left' to drop prompt tokens from the left");
  }
  const drop = n - ctx;
  if (drop > promptTokens - 1) {
    throw new InputError(path, lengths, `the completion + EOS (${n - promptTokens} tokens) plus one prompt token `
      + `does not fit contextLength = ${ctx}, even with the prompt truncated from the left`);
  }
  return { seq: { ids: seq.ids.slice(drop), lossMask: seq.lossMask.slice(drop) }, truncated: true };
}

/**
 * Tokenizes and checks every example (all of them, before any training starts).
 * @param examples - The examples; formats may be mixed.
 * @param o - Tokenizer, model limits and the truncation policy.
 * @param param - Name of the examples argument in errors. Default `"examples"`.
 * @returns One {@link SFTSequence} per example, in order, and the number truncated.
 * @throws An {@link InputError} naming e.g. `examples[3].completion`, `examples[1].messages[0].role`,
 *   `examples[2].promptIds[5]`, or `examples[4]` (with its token counts) when it does not fit.
 */
export function prepareSequences(examples: readonly SFTInput[], o: PrepareOptions, param = 'examples'): PreparedSequences {
  if (!Array.isArray(examples) || examples.length === 0) {
    throw new InputError(param, examples, 'must be a non-empty array of examples');
  }
  const sequences: SFTSequence[] = [];
  let truncated = 0;
  examples.forEach((ex: unknown, i) => {
    const path = `${param}[${i}]`;
    const seq = toSequence(ex, path, o);
    const bad = seq.ids.findIndex((id) => id >= o.vocabSize);
    if (bad >= 0) throw new InputError(`${path}`, seq.ids[bad], `encodes to token id ${seq.ids[bad]} >= the model's vocabSize ${o.vocabSize}`);
    const fit = fitContext(seq, path, o);
    if (fit.truncated) truncated++;
    sequences.push(fit.seq);
  });
  return { sequences, truncated };
}
