/**
 * A byte-level BPE tokenizer trained on your own text (GPT-2's scheme, Hugging Face `tokenizers`'
 * `BpeTrainer`), saved and loaded as Hugging Face `tokenizer.json`.
 * @module
 */
import { FileFormatError } from '../errors';
import type { ConfigError, InputError } from '../errors';
import type { HubOptions } from '../hf/hub';
import { gpt2Vocabulary, readHfTokenizer, saveTokenizerFiles, specFromTokenizerJson } from '../hf/tokenizer-files';
import { openPretrained } from '../hf/source';
import { ByteLevelBpe, symbolsToBytes } from './byte-level-bpe';
import { checkTrainingText, checkTrainingTexts, resolveBpeTrainOptions, type BpeTrainOptions } from './bpe-options';
import { countPieces, trainBpe } from './bpe-train';
import type { Gpt2Vocabulary } from './gpt2';
import { checkText, checkTokenIds, type DecodeOptions, type Tokenizer } from './tokenizer';

// ignoreBOM: keep a leading U+FEFF instead of stripping it, so it round-trips.
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Report progress every this many merges. */
const PROGRESS_EVERY = 256;

/**
 * What each id decodes to: its text when its bytes are valid UTF-8 on their own (most tokens), else
 * its bytes (part of a character), or the marker of a special token (dropped unless `keepSpecial`).
 * A token that is valid UTF-8 starts with a character's first byte, so it can never complete the
 * bytes before it: decoding the runs of byte tokens separately and concatenating the texts gives the
 * same string as decoding all the bytes at once.
 */
type DecodeEntry = string | Uint8Array | { special: string };

/**
 * Byte-level BPE tokenizer with a vocabulary of your choosing: learn one with
 * {@link BpeTokenizer.train}, save it with {@link BpeTokenizer.savePretrained}, read it back with
 * {@link BpeTokenizer.fromPretrained} or `loadTokenizer`.
 *
 * - Ids: the special tokens first (`0, 1, ...`: by default `<|endoftext|>` = 0 is EOS and BOS,
 *   `<|pad|>` = 1 is PAD), then the 256 byte symbols, then the learned tokens in the order they were
 *   learned: the layout Hugging Face `tokenizers` gives a trained BPE.
 * - `encode` splits the text with GPT-2's pattern and applies the merges by rank (lowest first) to
 *   each piece's UTF-8 bytes. Every byte is a token, so any text encodes, and
 *   `decode(encode(s)) === s` for every well-formed string. A lone surrogate (half a UTF-16 pair,
 *   not valid Unicode) has no UTF-8 form: it is encoded as U+FFFD, as `TextEncoder` does.
 * - `encode` never produces a special id: text that spells `<|endoftext|>` is ordinary text.
 *
 * @example
 * ```ts
 * const tok = BpeTokenizer.train(sentences, { vocabSize: 4096 });
 * const ids = tok.encode('The jury said it did find that ...');
 * tok.decode([...ids, tok.eosId]);   // the text again
 * await tok.savePretrained('out/tokenizer');
 * ```
 */
export class BpeTokenizer implements Tokenizer {
  /** Number of ids: special tokens, 256 byte symbols and learned tokens (for a loaded vocabulary: its size, plus the pad id when appended). */
  readonly vocabSize: number;
  /** EOS id (`eosToken`; default `<|endoftext|>` = 0 for a trained tokenizer). */
  readonly eosId: number;
  /** PAD id (`padToken`; default `<|pad|>` = 1 for a trained tokenizer); never equal to {@link BpeTokenizer.eosId}. */
  readonly padId: number;
  /** BOS id (`bosToken`; default the EOS id, as in GPT-2). */
  readonly bosId: number;
  private readonly vocab: Gpt2Vocabulary;
  private readonly table: DecodeEntry[];

  /**
   * @param vocabulary - a byte-level BPE vocabulary with its special tokens, e.g. what
   *   {@link BpeTokenizer.train} learned or GPT-2's (`new Gpt2Tokenizer().vocabulary()`).
   */
  constructor(vocabulary: Gpt2Vocabulary) {
    this.vocab = vocabulary;
    this.vocabSize = vocabulary.vocabSize;
    this.eosId = vocabulary.eosId;
    this.padId = vocabulary.padId;
    this.bosId = vocabulary.bosId;
    this.table = decodeTable(vocabulary);
  }

  /**
   * Learns a byte-level BPE vocabulary from `texts`, as Hugging Face `tokenizers`' `BpeTrainer` with
   * the `ByteLevel` pre-tokenizer does: special tokens first, then the 256 byte symbols, then the most
   * frequent adjacent pair merged again and again (ties to the pair of earlier-created tokens, i.e.
   * the smallest `(id, id)`), until `vocabSize` tokens. Deterministic: the same texts and options
   * give the same vocabulary, whatever their order. Pure: works in browsers.
   * @param texts - the training text: an array or any iterable of strings (one pass).
   * @param options - see {@link BpeTrainOptions}.
   * @throws {@link ConfigError} for a bad option; {@link InputError} naming `texts[i]` for an element
   *   that is not a string.
   */
  static train(texts: Iterable<string>, options: BpeTrainOptions = {}): BpeTokenizer {
    const o = resolveBpeTrainOptions(options);
    checkTrainingTexts(texts);
    const pieces = countPieces(texts, checkTrainingText);
    const total = o.vocabSize;
    const onMerge = (n: number): void => {
      if (n % PROGRESS_EVERY === 0) o.logger.progress?.({ task: 'bpe', done: n, total, unit: 'token' });
    };
    const { tokens, merges } = trainBpe(pieces, { vocabSize: o.vocabSize, specialTokens: o.specialTokens, minFrequency: o.minFrequency, onMerge });
    o.logger.progress?.({ task: 'bpe', done: tokens.length, total, unit: 'token' });
    o.logger.log('info', `bpe: learned ${merges.length} merges, ${tokens.length} tokens from ${pieces.size} distinct words`, { merges: merges.length, vocabSize: tokens.length, words: pieces.size });
    const ids = new Map(tokens.map((t, id) => [t, id]));
    const idOf = (t: string): number => ids.get(t) as number;
    return new BpeTokenizer({
      bpe: new ByteLevelBpe(ids, merges, '<trained BPE>'),
      added: new Map(o.specialTokens.map((t) => [idOf(t), { content: t, special: true }])),
      vocabSize: tokens.length, eosId: idOf(o.eosToken), bosId: idOf(o.bosToken), padId: idOf(o.padToken), padAppended: false,
    });
  }

  /**
   * Reads a tokenizer from a Hugging Face folder or Hub repo id (`tokenizer.json`, else `vocab.json` +
   * `merges.txt`, with `tokenizer_config.json` for the special tokens), as written by
   * {@link BpeTokenizer.savePretrained}, by Hugging Face `tokenizers`, or GPT-2's own files. EOS is
   * `eos_token` (default `<|endoftext|>`), BOS `bos_token` (default EOS), PAD `pad_token` when it
   * differs from EOS, else one id appended after the vocabulary. Node.js only.
   * @param source - a local folder, or a Hub repo id.
   * @param options - Hub revision, cache and token.
   * @throws {@link FileFormatError} when the files are missing or not a byte-level BPE.
   */
  static async fromPretrained(source: string, options: HubOptions = {}): Promise<BpeTokenizer> {
    const files = await openPretrained(source, options);
    return new BpeTokenizer(gpt2Vocabulary(await readHfTokenizer(files), files.label));
  }

  /**
   * Builds a tokenizer from the contents of a Hugging Face `tokenizer.json` (and optionally
   * `tokenizer_config.json` for the special tokens), as written by {@link BpeTokenizer.savePretrained}:
   * no file system, so it works in browsers (fetch or bundle the JSON, pass it here).
   * @param tokenizerJson - the `tokenizer.json` text or its parsed object.
   * @param tokenizerConfig - the `tokenizer_config.json` text or object. Default: none (EOS
   *   `<|endoftext|>`, BOS = EOS, PAD appended unless the added tokens name one in the config).
   * @throws {@link FileFormatError} when the JSON is not a byte-level BPE.
   */
  static fromJson(tokenizerJson: string | Record<string, unknown>, tokenizerConfig: string | Record<string, unknown> = {}): BpeTokenizer {
    const parse = (v: string | Record<string, unknown>, name: string): Record<string, unknown> => {
      if (typeof v !== 'string') return v;
      try {
        return JSON.parse(v) as Record<string, unknown>;
      } catch (e) {
        throw new FileFormatError(name, `is not JSON: ${(e as Error).message.slice(0, 120)}`);
      }
    };
    const label = '<json>';
    const spec = specFromTokenizerJson(parse(tokenizerJson, 'tokenizer.json'), parse(tokenizerConfig, 'tokenizer_config.json'), {}, label);
    return new BpeTokenizer(gpt2Vocabulary(spec, label));
  }

  /**
   * Writes `tokenizer.json`, `vocab.json`, `merges.txt`, `tokenizer_config.json` and
   * `special_tokens_map.json` into `dir`, atomically as a whole (other files in `dir` are kept):
   * loadable by `transformers.AutoTokenizer`, {@link BpeTokenizer.fromPretrained} and `loadTokenizer`
   * (which gives a `BpeTokenizer` back). Node.js only.
   * @param dir - the folder (created if missing).
   */
  async savePretrained(dir: string): Promise<void> {
    await saveTokenizerFiles(dir, this);
  }

  /** The merges in rank order (rank 0 first), each as its two token strings. */
  get merges(): readonly (readonly [string, string])[] {
    return this.vocab.bpe.merges;
  }

  /**
   * The token string of an id: a special token's text, or a byte-level symbol string (`Ġ` for a space).
   * @param id - an id.
   * @returns The string, or `undefined` when the vocabulary has no such id.
   */
  idToToken(id: number): string | undefined {
    return this.vocab.added.get(id)?.content ?? this.vocab.bpe.token(id);
  }

  /**
   * The id of a token string (a special token's text or a byte-level symbol string).
   * @param token - the token string.
   * @returns Its id, or `undefined`.
   */
  tokenToId(token: string): number | undefined {
    for (const [id, t] of this.vocab.added) if (t.content === token) return id;
    return this.vocab.bpe.vocab.get(token);
  }

  /** This tokenizer's vocabulary in Hugging Face terms (what the files hold). @internal */
  vocabulary(): Gpt2Vocabulary {
    return this.vocab;
  }

  /**
   * Encodes text. Adds no special tokens; special-token spellings in the text are ordinary text.
   * @param text - the text to encode.
   * @returns Ids in `[0, vocabSize)`, none of them special.
   * @throws An {@link InputError} if `text` is not a string.
   */
  encode(text: string): number[] {
    checkText(text);
    return this.vocab.bpe.encode(text);
  }

  /**
   * Decodes ids to text. Bytes that are not valid UTF-8 (e.g. a sample cut inside a multi-byte
   * character) become U+FFFD. Special tokens are dropped by default; with `keepSpecial` they render
   * as their text (`<|endoftext|>`, `<|pad|>`), and the tokens between them are decoded separately.
   * @param ids - ids in `[0, vocabSize)`.
   * @param options - see {@link DecodeOptions}.
   * @throws An {@link InputError} naming `ids[i]` for an id that is not an integer in `[0, vocabSize)`.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    checkTokenIds(ids, this.vocabSize);
    const keepSpecial = options.keepSpecial ?? false;
    let buf: Uint8Array = new Uint8Array(16);
    let n = 0; // pending bytes of tokens that are not whole characters
    let out = '';
    for (let i = 0; i < ids.length; i++) {
      const entry = this.table[ids[i] as number] as DecodeEntry;
      if (typeof entry === 'string') {
        if (n > 0) out += utf8Decoder.decode(buf.subarray(0, n));
        n = 0;
        out += entry;
      } else if (entry instanceof Uint8Array) {
        if (n + entry.length > buf.length) buf = grow(buf, n + entry.length);
        for (let j = 0; j < entry.length; j++) buf[n++] = entry[j] as number;
      } else if (keepSpecial) {
        if (n > 0) out += utf8Decoder.decode(buf.subarray(0, n));
        n = 0;
        out += entry.special;
      }
    }
    return n > 0 ? out + utf8Decoder.decode(buf.subarray(0, n)) : out;
  }
}

function grow(buf: Uint8Array, need: number): Uint8Array {
  const next = new Uint8Array(Math.max(need, buf.length * 2));
  next.set(buf);
  return next;
}

/** The text of `bytes` when they are valid UTF-8 by themselves, else the bytes. */
function wholeText(bytes: Uint8Array): string | Uint8Array {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return bytes;
  }
}

/** Every id's text, bytes or special marker, built once. */
function decodeTable(v: Gpt2Vocabulary): DecodeEntry[] {
  const table = new Array<DecodeEntry>(v.vocabSize);
  for (let id = 0; id < v.vocabSize; id++) {
    const added = v.added.get(id);
    if (added?.special || (added === undefined && v.padAppended && id === v.padId)) {
      table[id] = { special: added?.content ?? '<|pad|>' };
    } else if (added !== undefined) {
      table[id] = added.content;
    } else {
      const token = v.bpe.token(id);
      table[id] = token === undefined ? '' : wholeText(symbolsToBytes(token));
    }
  }
  return table;
}
