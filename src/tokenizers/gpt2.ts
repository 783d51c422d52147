/**
 * The GPT-2 byte-pair-encoding tokenizer (OpenAI's `r50k_base`), offline, via `gpt-tokenizer`.
 * @module
 */
import { encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import * as r50kRanksModule from 'gpt-tokenizer/bpeRanks/r50k_base';
import { RlhfError, type FileFormatError, type InputError } from '../errors';
import { checkText, checkTokenIds, type DecodeOptions, type Tokenizer } from './tokenizer';
import { ByteLevelBpe, bytesToSymbols, bpeMerge, symbolsToBytes } from './byte-level-bpe';
import type { HubOptions } from '../hf/hub';
import { loadGpt2Tokenizer, saveTokenizerFiles } from '../hf/tokenizer-files';

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
  /** 50258 (GPT-2's 50257 ids plus the pad id 50257); for a loaded vocabulary, its size (plus the pad id when appended). */
  readonly vocabSize: number = 50258;
  /** 50256, GPT-2's `<|endoftext|>` (a loaded vocabulary: its `eos_token`). */
  readonly eosId: number = GPT2_ENDOFTEXT;
  /** 50257, an extra id appended after GPT-2's vocabulary (a loaded vocabulary: its `pad_token`, or one id appended). */
  readonly padId: number = GPT2_PAD;
  /** 50256, the same `<|endoftext|>` token as {@link Gpt2Tokenizer.eosId}, as in GPT-2 (a loaded vocabulary: its `bos_token`, else EOS). */
  readonly bosId: number = GPT2_ENDOFTEXT;
  /** The byte-level BPE vocabulary when not GPT-2's own (see {@link Gpt2Tokenizer.fromPretrained}). */
  private readonly custom: Gpt2Vocabulary | undefined;

  /**
   * @param vocabulary - another byte-level BPE vocabulary (as read by {@link Gpt2Tokenizer.fromPretrained});
   *   default: GPT-2's own `r50k_base`, offline.
   */
  constructor(vocabulary?: Gpt2Vocabulary) {
    this.custom = vocabulary;
    if (vocabulary !== undefined) {
      this.vocabSize = vocabulary.vocabSize;
      this.eosId = vocabulary.eosId;
      this.padId = vocabulary.padId;
      this.bosId = vocabulary.bosId;
    }
  }

  /**
   * A tokenizer from a Hugging Face folder or Hub repo id: `tokenizer.json`, else `vocab.json` +
   * `merges.txt` (+ `tokenizer_config.json` / `special_tokens_map.json` / `added_tokens.json` for the
   * special tokens). EOS is `eos_token` (default `<|endoftext|>`), BOS `bos_token` (default EOS), PAD
   * `pad_token` when it differs from EOS, else one id appended after the vocabulary. Node.js only.
   * @param source - a local folder, or a Hub repo id such as `'openai-community/gpt2'`.
   * @param options - Hub revision, cache and token (see {@link HubOptions}).
   * @throws {@link FileFormatError} when the files are missing or not a byte-level BPE.
   */
  static async fromPretrained(source: string, options: HubOptions = {}): Promise<Gpt2Tokenizer> {
    return loadGpt2Tokenizer(source, options);
  }

  /**
   * Writes `tokenizer.json`, `vocab.json`, `merges.txt`, `tokenizer_config.json` and
   * `special_tokens_map.json` into `dir` (each atomically), loadable by `transformers.AutoTokenizer`
   * and by {@link Gpt2Tokenizer.fromPretrained}. Node.js only.
   */
  async savePretrained(dir: string): Promise<void> {
    await saveTokenizerFiles(dir, this);
  }

  /** This tokenizer's vocabulary in Hugging Face terms (GPT-2's own is derived from its ranks on first use). @internal */
  vocabulary(): Gpt2Vocabulary {
    return this.custom ?? r50kVocabulary();
  }

  /**
   * Encodes text with GPT-2's BPE. Adds no special tokens; special-token spellings in the text are
   * encoded as ordinary text.
   * @param text - The text to encode.
   * @returns Ids in `[0, 50256)`.
   * @throws An {@link InputError} if `text` is not a string.
   */
  encode(text: string): number[] {
    checkText(text);
    return this.custom ? this.custom.bpe.encode(text) : r50kEncode(text, PLAIN_TEXT_ONLY);
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
    if (this.custom) return decodeCustom(this.custom, ids, options.keepSpecial ?? false);
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

/** A token added to a vocabulary (Hugging Face `added_tokens`). */
export interface AddedToken {
  /** Its text. */
  content: string;
  /** Special tokens (EOS, PAD...) are dropped by `decode` unless `keepSpecial`, and never produced by `encode`. */
  special: boolean;
}

/**
 * A byte-level BPE vocabulary with its special tokens, as Hugging Face files describe it: what
 * {@link Gpt2Tokenizer.fromPretrained} reads and the {@link Gpt2Tokenizer} constructor takes.
 */
export interface Gpt2Vocabulary {
  /** The BPE model. */
  bpe: ByteLevelBpe;
  /** Added tokens (specials such as `<|endoftext|>` included) by id. */
  added: ReadonlyMap<number, AddedToken>;
  /** One past the largest id (the appended pad id included). */
  vocabSize: number;
  /** EOS id. */
  eosId: number;
  /** BOS id. */
  bosId: number;
  /** PAD id (distinct from EOS). */
  padId: number;
  /** True when the pad id is not in the files but was appended by this library (rendered `<|pad|>`). */
  padAppended: boolean;
}

function decodeCustom(v: Gpt2Vocabulary, ids: readonly number[], keepSpecial: boolean): string {
  let out = '';
  let run: Uint8Array[] = [];
  for (const id of ids) {
    const added = v.added.get(id);
    const special = added?.special ?? (v.padAppended && id === v.padId);
    if (!special) {
      const token = added?.content ?? v.bpe.token(id);
      if (token !== undefined) run.push(added ? textEncoder.encode(token) : symbolsToBytes(token));
    } else if (keepSpecial) {
      out += joinAndDecode(run) + (added?.content ?? '<|pad|>');
      run = [];
    }
  }
  return out + joinAndDecode(run);
}

let r50k: Gpt2Vocabulary | undefined;

/**
 * GPT-2's vocabulary in Hugging Face form: token strings from the rank table, and each merge recovered
 * by running BPE on the token's bytes with the lower-ranked merges only (the last step makes it).
 */
function r50kVocabulary(): Gpt2Vocabulary {
  if (r50k !== undefined) return r50k;
  const vocab = new Map<string, number>();
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();
  bytesTable().forEach((bytes, id) => {
    const token = bytesToSymbols(bytes);
    vocab.set(token, id);
    if (bytes.length < 2) return;
    const parts = bpeMerge(Array.from(token), ranks);
    if (parts.length !== 2) throw new RlhfError(`internal: GPT-2 token ${id} is not one merge of lower-ranked tokens`);
    ranks.set(`${parts[0]} ${parts[1]}`, merges.length);
    merges.push([parts[0] as string, parts[1] as string]);
  });
  vocab.set('<|endoftext|>', GPT2_ENDOFTEXT);
  r50k = {
    bpe: new ByteLevelBpe(vocab, merges, 'gpt-tokenizer r50k_base'),
    added: new Map([[GPT2_ENDOFTEXT, { content: '<|endoftext|>', special: true }], [GPT2_PAD, { content: '<|pad|>', special: true }]]),
    vocabSize: 50258, eosId: GPT2_ENDOFTEXT, bosId: GPT2_ENDOFTEXT, padId: GPT2_PAD, padAppended: false,
  };
  return r50k;
}
