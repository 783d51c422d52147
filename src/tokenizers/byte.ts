/**
 * A byte-level tokenizer: every UTF-8 byte is a token. No vocabulary file, no training.
 * @module
 */
import type { InputError } from '../errors';
import { checkText, checkTokenIds, type DecodeOptions, type Tokenizer } from './tokenizer';
import { saveTokenizerFiles } from '../hf/tokenizer-files';

const encoder = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF instead of stripping it, so it round-trips.
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

const BYTE_EOS = 256;
const BYTE_PAD = 257;
const BYTE_BOS = 258;
const MARKERS: Readonly<Record<number, string>> = {
  [BYTE_EOS]: '<|eos|>',
  [BYTE_PAD]: '<|pad|>',
  [BYTE_BOS]: '<|bos|>',
};

/**
 * Byte-level tokenizer. Ids 0..255 are the UTF-8 bytes of the text; then come the special tokens
 * EOS = 256, PAD = 257 and BOS = 258, so {@link ByteTokenizer.vocabSize} is 259.
 *
 * `decode(encode(s)) === s` for every well-formed string `s`. A lone surrogate (half of a UTF-16
 * pair, not valid Unicode) cannot be represented in UTF-8: `encode` turns it into U+FFFD, as
 * `TextEncoder` does. A leading U+FEFF (byte order mark) is kept, not stripped.
 *
 * @example
 * ```ts
 * const tok = new ByteTokenizer();
 * tok.encode('hé');                          // [104, 195, 169]
 * tok.decode([104, 195, 169, tok.eosId]);    // 'hé'
 * tok.decode([104, tok.eosId], { keepSpecial: true }); // 'h<|eos|>'
 * ```
 */
export class ByteTokenizer implements Tokenizer {
  /** 259: 256 byte values plus EOS, PAD and BOS. */
  readonly vocabSize = 259;
  /** 256. */
  readonly eosId = BYTE_EOS;
  /** 257. */
  readonly padId = BYTE_PAD;
  /** 258. */
  readonly bosId = BYTE_BOS;

  /**
   * Encodes `text` as its UTF-8 bytes. Adds no special tokens; lone surrogates become U+FFFD
   * (bytes 239, 191, 189).
   * @param text - The text to encode.
   * @returns One id per UTF-8 byte, each in 0..255.
   * @throws An {@link InputError} if `text` is not a string.
   */
  encode(text: string): number[] {
    checkText(text);
    return Array.from(encoder.encode(text));
  }

  /**
   * Decodes ids to text. Byte sequences that are not valid UTF-8 (e.g. a sample cut inside a
   * multi-byte character) decode to U+FFFD instead of throwing. Special tokens are dropped by default
   * (the remaining bytes are decoded together); with `keepSpecial` they are rendered as `<|eos|>`,
   * `<|pad|>`, `<|bos|>` and the byte runs between them are decoded separately.
   * @param ids - Ids in `[0, 259)`.
   * @param options - See {@link DecodeOptions}.
   * @throws An {@link InputError} naming `ids[i]` for an id that is not an integer in `[0, 259)`.
   */
  /**
   * Writes the Hugging Face tokenizer files (tokenizer.json, vocab.json, merges.txt, tokenizer_config.json,
   * special_tokens_map.json) of an equivalent byte-level BPE: no merges, each byte's id is its value,
   * `<|eos|>` 256, `<|pad|>` 257, `<|bos|>` 258 as special added tokens, so `transformers` gives the same
   * ids. `loadTokenizer` reads it back as a `ByteTokenizer`. Atomic as a whole. Node.js only.
   */
  async savePretrained(dir: string): Promise<void> {
    await saveTokenizerFiles(dir, this);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    checkTokenIds(ids, this.vocabSize);
    const keepSpecial = options.keepSpecial ?? false;
    let out = '';
    let run: number[] = [];
    for (const id of ids) {
      if (id < 256) {
        run.push(id);
      } else if (keepSpecial) {
        out += decoder.decode(Uint8Array.from(run)) + (MARKERS[id] ?? '');
        run = [];
      }
    }
    return out + decoder.decode(Uint8Array.from(run));
  }
}
