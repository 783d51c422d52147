/**
 * The tokenizer contract shared by every model, trainer and sampler in the library.
 * @module
 */
import { InputError } from '../errors';

/** Options for {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /**
   * Render special tokens as text instead of dropping them: EOS, PAD and BOS appear as a marker
   * such as `<|eos|>`, `<|pad|>`, `<|bos|>` (each tokenizer documents its markers). The markers are
   * for display and debugging only: encoding them again gives ordinary text tokens, never the special
   * ids. Default: `false` (special tokens are dropped).
   */
  keepSpecial?: boolean;
}

/**
 * Maps text to token ids and back.
 *
 * Every id lies in `[0, vocabSize)`. The special ids (`eosId`, `padId`, `bosId`) are never produced
 * by {@link Tokenizer.encode}: callers add them explicitly, so user text can never inject a special
 * token. `padId` is always distinct from `eosId`, so masks built from `ids !== padId` keep EOS tokens
 * (a policy must learn to emit EOS). `bosId` may equal `eosId` (GPT-2 uses one token for both).
 */
export interface Tokenizer {
  /** Number of ids, special tokens included; a model's embedding needs at least this many rows. */
  readonly vocabSize: number;
  /** End-of-sequence id: appended after a response; sampling stops when it is generated. */
  readonly eosId: number;
  /** Padding id used to fill batches to a common length; distinct from {@link Tokenizer.eosId}. */
  readonly padId: number;
  /** Beginning-of-sequence id, prepended by callers that want one; may equal {@link Tokenizer.eosId}. */
  readonly bosId: number;
  /**
   * Encodes text as ids. Adds no special tokens (no BOS, no EOS), and text that spells a special
   * token (e.g. `"<|endoftext|>"`) is encoded as ordinary text.
   * @param text - The text to encode.
   * @returns Ids in `[0, vocabSize)`, none of them special.
   */
  encode(text: string): number[];
  /**
   * Decodes ids to text. Never throws on a sequence that is not valid UTF-8 (for example a sample
   * cut in the middle of a multi-byte character): the invalid bytes become U+FFFD.
   *
   * By default the special tokens PAD, BOS and EOS are all dropped, so `decode(ids)` equals
   * `decode(ids without the special ids)`; pass `{ keepSpecial: true }` to render them as markers.
   * @param ids - Token ids, each an integer in `[0, vocabSize)`.
   * @param options - See {@link DecodeOptions}.
   * @throws An {@link InputError} naming `ids[i]` when an id is not an integer in `[0, vocabSize)`.
   */
  decode(ids: readonly number[], options?: DecodeOptions): string;
}

/**
 * Checks that every id is an integer in `[0, vocabSize)`.
 * @param ids - The ids to check.
 * @param vocabSize - One past the largest valid id.
 * @throws An {@link InputError} naming `ids[i]` for the first bad id.
 * @internal
 */
export function checkTokenIds(ids: readonly number[], vocabSize: number): void {
  if (!Array.isArray(ids)) {
    throw new InputError('ids', ids, 'must be an array of token ids');
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InputError(`ids[${i}]`, id, `must be an integer in [0, ${vocabSize})`);
    }
  }
}

/**
 * Checks that `text` is a string (for callers outside TypeScript).
 * @param text - The value to check.
 * @throws An {@link InputError} naming `text` otherwise.
 * @internal
 */
export function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string') {
    throw new InputError('text', text, 'must be a string');
  }
}
