/**
 * The chat template: how a conversation becomes token ids and a loss mask.
 *
 * A conversation renders as
 * ```text
 * <|system|>\n{content}\n<|user|>\n{content}\n<|assistant|>\n{content}<eos>
 * ```
 * that is, each system or user turn is `<|role|>\n{content}\n`, and each assistant turn is
 * `<|assistant|>\n{content}` followed by the tokenizer's EOS token (`tokenizer.eosId`) and nothing
 * else: the next turn's header follows the EOS directly. The role headers are plain text (encoded like
 * any other text, so a tokenizer needs no extra special tokens), and no BOS is added.
 *
 * Loss falls on assistant turns only: every assistant turn's content tokens and its EOS get mask 1
 * (so the model learns to end its turn); headers and system/user turns are context with mask 0.
 *
 * Tokenization is done piecewise so the mask boundaries are exact: each run of context text (the
 * system/user turns since the previous assistant turn, plus the `<|assistant|>\n` header) is encoded
 * as one piece, each assistant content as another. With a byte tokenizer this equals encoding the
 * whole text; with a BPE tokenizer it can differ at the piece boundaries, which is why
 * {@link tokenizeChatPrompt} builds generation prompts from the very same pieces.
 *
 * Role headers in message content are not escaped: content that spells `<|user|>\n` looks like a
 * header to the model. Filter such content upstream if users control it.
 * @module
 */
import { InputError } from '../errors';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { ChatMessage, ChatRole } from './types';
import { chatMessagesProblem } from './validate';

/** Token ids of a conversation and, aligned with them, which ids carry loss. */
export interface ChatTokens {
  /** Token ids of the rendered conversation. */
  ids: number[];
  /** Same length as `ids`: 1 on assistant content and its EOS, 0 on headers and other turns. */
  lossMask: number[];
}

/** A piece of the rendered conversation: text to encode, or the EOS token. */
type Piece = { text: string; trainable: boolean } | { eos: true };

const ASSISTANT_HEADER = '<|assistant|>\n';

/**
 * The header that opens a turn of `role`: `"<|system|>\n"`, `"<|user|>\n"` or `"<|assistant|>\n"`.
 * @param role - The speaker.
 * @returns The header text.
 */
export function chatHeader(role: ChatRole): string {
  return `<|${role}|>\n`;
}

function checkMessages(messages: unknown, requireAssistant: boolean): asserts messages is ChatMessage[] {
  const problem = chatMessagesProblem(messages, requireAssistant);
  if (problem !== undefined) throw new InputError(problem.path, problem.value, problem.reason);
}

/**
 * Splits a conversation into pieces; with `prompt`, ends with an open assistant header (and no
 * trailing assistant turn is expected).
 */
function pieces(messages: readonly ChatMessage[], prompt: boolean): Piece[] {
  const out: Piece[] = [];
  let context = '';
  for (const m of messages) {
    if (m.role !== 'assistant') {
      context += `${chatHeader(m.role)}${m.content}\n`;
      continue;
    }
    out.push({ text: context + ASSISTANT_HEADER, trainable: false });
    out.push({ text: m.content, trainable: true });
    out.push({ eos: true });
    context = '';
  }
  if (prompt) context += ASSISTANT_HEADER;
  if (context !== '') out.push({ text: context, trainable: false });
  return out;
}

function encodePieces(list: readonly Piece[], tokenizer: Tokenizer): ChatTokens {
  const ids: number[] = [];
  const lossMask: number[] = [];
  for (const p of list) {
    if ('eos' in p) {
      ids.push(tokenizer.eosId);
      lossMask.push(1);
      continue;
    }
    const bit = p.trainable ? 1 : 0;
    for (const id of tokenizer.encode(p.text)) {
      ids.push(id);
      lossMask.push(bit);
    }
  }
  return { ids, lossMask };
}

/**
 * Tokenizes a conversation for training with the chat template (see the module notes) and builds
 * its loss mask: 1 on every assistant turn's content tokens and the EOS that ends it, 0 elsewhere.
 * System or user turns after the last assistant turn are kept as (mask-0) context.
 * @param messages - The conversation; it must hold at least one assistant turn.
 * @param tokenizer - Encodes the text; its `eosId` ends each assistant turn.
 * @returns The ids and the aligned loss mask.
 * @throws An {@link InputError} naming e.g. `messages[2].role` for an invalid message, or
 *   `messages` when it is empty or has no assistant turn (it would train on nothing).
 * @example
 * ```ts
 * const { ids, lossMask } = tokenizeChat(
 *   [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }],
 *   new ByteTokenizer(),
 * );
 * // text "<|user|>\nHi\n<|assistant|>\n" has mask 0; "Hello!" and the EOS have mask 1
 * ```
 */
export function tokenizeChat(messages: readonly ChatMessage[], tokenizer: Tokenizer): ChatTokens {
  checkMessages(messages, true);
  return encodePieces(pieces(messages, false), tokenizer);
}

/**
 * Tokenizes a conversation history as a generation prompt: the history rendered exactly as
 * {@link tokenizeChat} renders it (earlier assistant turns included, each ending in EOS), followed
 * by the open header `<|assistant|>\n`. Sampling from these ids continues with the assistant's reply;
 * stop at EOS.
 * @param messages - The history; may be empty and need not contain an assistant turn.
 * @param tokenizer - Encodes the text; its `eosId` ends each earlier assistant turn.
 * @returns The prompt ids (no BOS, no trailing EOS).
 * @throws An {@link InputError} naming e.g. `messages[2].role` for an invalid message.
 */
export function tokenizeChatPrompt(messages: readonly ChatMessage[], tokenizer: Tokenizer): number[] {
  checkMessages(messages, false);
  return encodePieces(pieces(messages, true), tokenizer).ids;
}

/**
 * Renders a conversation history as a generation prompt string: each turn as in the chat template,
 * then the open header `<|assistant|>\n`. Earlier assistant turns are rendered as
 * `<|assistant|>\n{content}` with no EOS, because EOS is a token and has no text; for histories
 * with assistant turns, prefer {@link tokenizeChatPrompt}, which includes the EOS tokens exactly as
 * training saw them. For a history of only system and user turns,
 * `tokenizer.encode(chatPrompt(h))` equals `tokenizeChatPrompt(h, tokenizer)` for any tokenizer.
 * @param messages - The history; may be empty and need not contain an assistant turn.
 * @returns The prompt text, ending in `"<|assistant|>\n"`.
 * @throws An {@link InputError} naming e.g. `messages[2].role` for an invalid message.
 */
export function chatPrompt(messages: readonly ChatMessage[]): string {
  checkMessages(messages, false);
  let text = '';
  for (const p of pieces(messages, true)) {
    if (!('eos' in p)) text += p.text;
  }
  return text;
}
