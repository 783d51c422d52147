/**
 * The JSON documents of a Hugging Face byte-level BPE tokenizer: `tokenizer.json` (the `tokenizers`
 * serialisation: ByteLevel pre-tokenizer, post-processor and decoder with GPT-2's flags, BPE model with
 * merges as pairs), `tokenizer_config.json` and `special_tokens_map.json`. Pure.
 * @module
 */

/** A byte-level BPE tokenizer as its files describe it. @internal */
export interface HfTokenizerSpec {
  /** Token string -> id. */
  vocab: Map<string, number>;
  /** Merges in rank order. */
  merges: [string, string][];
  /** Added tokens by id. */
  added: Map<number, { content: string; special: boolean }>;
  /** `eos_token` content. */
  eos: string | undefined;
  /** `bos_token` content. */
  bos: string | undefined;
  /** `pad_token` content. */
  pad: string | undefined;
  /** The library class that wrote the files (`tokenizer_config.json`'s {@link SAVED_CLASS}), e.g. `'BpeTokenizer'`. */
  cls?: string | undefined;
}

/** The `tokenizer_config.json` key naming the tfjs-rlhf class that wrote the files (Hugging Face ignores it). @internal */
export const SAVED_CLASS = 'tfjs_rlhf_class';

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

function addedToken(id: number, t: { content: string; special: boolean }): Record<string, unknown> {
  return { id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: !t.special, special: t.special };
}

/** `tokenizer.json` (format version 1.0). @internal */
export function tokenizerJson(spec: HfTokenizerSpec, vocab: Record<string, number>): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...spec.added].sort((a, b) => a[0] - b[0]).map(([id, t]) => addedToken(id, t)),
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: spec.merges,
    },
  };
}

/** `tokenizer_config.json` (class `GPT2Tokenizer`) and `special_tokens_map.json`. @internal */
export function tokenizerConfigJson(spec: HfTokenizerSpec, maxLength?: number): { config: Record<string, unknown>; specialMap: Record<string, unknown> } {
  const specialMap: Record<string, unknown> = {};
  if (spec.bos !== undefined) specialMap.bos_token = spec.bos;
  if (spec.eos !== undefined) specialMap.eos_token = spec.eos;
  if (spec.eos !== undefined) specialMap.unk_token = spec.eos;
  if (spec.pad !== undefined) specialMap.pad_token = spec.pad;
  const decoder: Record<string, unknown> = {};
  for (const [id, t] of [...spec.added].sort((a, b) => a[0] - b[0])) {
    const { id: _id, ...rest } = addedToken(id, t);
    decoder[String(id)] = rest;
  }
  const config = {
    tokenizer_class: 'GPT2Tokenizer',
    add_prefix_space: false,
    add_bos_token: false,
    clean_up_tokenization_spaces: false,
    errors: 'replace',
    ...(maxLength === undefined ? {} : { model_max_length: maxLength }),
    ...(spec.cls === undefined ? {} : { [SAVED_CLASS]: spec.cls }),
    ...specialMap,
    added_tokens_decoder: decoder,
  };
  return { config, specialMap };
}
