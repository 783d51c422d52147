/**
 * The GPT-2 byte-pair-encoding tokenizer (OpenAI's `r50k_base`), offline, via `gpt-tokenizer`.
 * @module
 */
import { encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import * as r50kRanksModule from 'gpt-tokenizer/bpeRanks/r50k_base';
import { RlhfError, type InputError } from '../errors';
import { checkText, checkTokenIds, type DecodeOptions, type Tokenizer } from './tokenizer';

/** GPT-2's `<|endoftext|>` id. */
const GPT2_ENDOFTEXT = 50256;
/** The extra padding id this library appends after GPT-2's vocabulary. */
const GPT2_PAD = 50257;
/** Treat every special token spelled in the text as plain text (never the special id, never throw). */
const PLAIN_TEXT_ONLY = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

const textEncoder = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF instead of stripping it, so it round-trips.
const textDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

let tokenBytes: readonly Uint8Array[] | undefined;

/**
 * The rank table is a module with only a default export. Depending on the bundler's CommonJS interop
 * (esbuild's node-mode `__toESM`), the namespace's `default` is either the array itself or
 * `module.exports`, whose own `default` is the array; accept both.
 */
function rankTable(): readonly (string | number[])[] {
  let value: unknown = (r50kRanksModule as { default?: unknown }).default;
  if (!Array.isArray(value) && typeof value === 'object' && value !== null && 'default' in value) {
    value = (value as { default: unknown }).default;
  }
  if (!Array.isArray(value) || value.length !== GPT2_ENDOFTEXT) {
    throw new RlhfError('gpt-tokenizer/bpeRanks/r50k_base did not provide the 50256 GPT-2 ranks');
  }
  return value as (string | number[])[];
}

/** The UTF-8 bytes of every ordinary token, built on first use. */
function bytesTable(): readonly Uint8Array[] {
  if (tokenBytes === undefined) {
    tokenBytes = rankTable().map((v) =>
      typeof v === 'string' ? textEncoder.encode(v) : Uint8Array.from(v),
    );
  }
  return tokenBytes;
}

/**
 * GPT-2 tokenizer: the 50257-token byte-level BPE of GPT-2 (`r50k_base`), plus one padding id.
 *
 * - Ids 0..50255 are BPE tokens; 50256 is `<|endoftext|>`, which serves as both
 *   {@link Gpt2Tokenizer.eosId} and {@link Gpt2Tokenizer.bosId}, as in GPT-2.
 * - {@link Gpt2Tokenizer.padId} is 50257, an id GPT-2 does not have, so that padding is never
 *   confused with EOS. Hence {@link Gpt2Tokenizer.vocabSize} is 50258 and a model used with this
 *   tokenizer needs at least 50258 embedding rows. Hugging Face `gpt2` weights have 50257 rows: append
 *   one row (e.g. zeros, or the mean embedding) for the pad id when loading them. Pad positions are
 *   masked out, so that row's value does not affect training.
 * - `encode` treats `<|endoftext|>` written in the text as ordinary text (it becomes the tokens of
 *   the characters `<|endoftext|>`), never as id 50256: user content cannot inject an EOS.
 *
 * `decode(encode(s)) === s` for every well-formed string; lone surrogates become U+FFFD.
 * Works offline: the ranks ship inside the `gpt-tokenizer` package.
 *
 * @example
 * ```ts
 * const tok = new Gpt2Tokenizer();
 * tok.encode('Hello world'); // [15496, 995]
 * tok.decode([15496, 995, tok.eosId]); // 'Hello world'
 * ```
 */
export class Gpt2Tokenizer implements Tokenizer {
  /** 50258: GPT-2's 50257 ids plus the pad id 50257. */
  readonly vocabSize = 50258;
  /** 50256, GPT-2's `<|endoftext|>`. */
  readonly eosId = GPT2_ENDOFTEXT;
  /** 50257, an extra id appended after GPT-2's vocabulary. */
  readonly padId = GPT2_PAD;
  /** 50256, the same `<|endoftext|>` token as {@link Gpt2Tokenizer.eosId}, as in GPT-2. */
  readonly bosId = GPT2_ENDOFTEXT;

  /**
   * Encodes text with GPT-2's BPE. Adds no special tokens; special-token spellings in the text are
   * encoded as ordinary text.
   * @param text - The text to encode.
   * @returns Ids in `[0, 50256)`.
   * @throws An {@link InputError} if `text` is not a string.
   */
  encode(text: string): number[] {
    checkText(text);
    return r50kEncode(text, PLAIN_TEXT_ONLY);
  }

  /**
   * Decodes ids to text. Bytes that do not form valid UTF-8 (e.g. a sample that stops inside a
   * multi-byte character) become U+FFFD. EOS/BOS (50256) and PAD (50257) are dropped by default;
   * with `keepSpecial` they render as `<|endoftext|>` and `<|pad|>`, and the tokens between them are
   * decoded separately. Stateless: unlike `gpt-tokenizer`'s own `decode`, a partial character at the
   * end of one call never leaks into the next.
   * @param ids - Ids in `[0, 50258)`.
   * @param options - See {@link DecodeOptions}.
   * @throws An {@link InputError} naming `ids[i]` for an id that is not an integer in `[0, 50258)`.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    checkTokenIds(ids, this.vocabSize);
    const table = bytesTable();
    const keepSpecial = options.keepSpecial ?? false;
    let out = '';
    let run: Uint8Array[] = [];
    for (const id of ids) {
      const bytes = table[id];
      if (bytes !== undefined) {
        run.push(bytes);
      } else if (keepSpecial) {
        out += joinAndDecode(run) + (id === GPT2_PAD ? '<|pad|>' : '<|endoftext|>');
        run = [];
      }
    }
    return out + joinAndDecode(run);
  }
}

function joinAndDecode(parts: readonly Uint8Array[]): string {
  let length = 0;
  for (const p of parts) length += p.length;
  const all = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return textDecoder.decode(all);
}
