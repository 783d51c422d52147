/**
 * `config.json` in Hugging Face `GPT2Config` names <-> {@link TransformerConfig}, and
 * `generation_config.json` -> {@link GenerateOptions} defaults.
 * @module
 */
import { ConfigError } from '../errors';
import type { GenerateOptions } from '../generation/generate';
import type { ResolvedTransformerConfig, TransformerConfig } from '../models/config';

/** Architectures whose weights are a GPT-2 trunk (plus an LM head or a score head). */
export const GPT2_ARCHITECTURES = ['GPT2LMHeadModel', 'GPT2Model', 'GPT2ForSequenceClassification', 'GPT2DoubleHeadsModel'] as const;
/** `activation_function` values that are the tanh-approximated GELU this library computes. */
const TANH_GELU = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

/** What a GPT-2 `config.json` says, in this library's terms. @internal */
export interface Gpt2ConfigInfo {
  /** The decoder config. */
  config: TransformerConfig;
  /** `architectures[0]`, or `'GPT2LMHeadModel'` when absent. */
  architecture: string;
  /** `pad_token_id`, when set. */
  padTokenId: number | undefined;
  /** `eos_token_id`, when set. */
  eosTokenId: number | undefined;
  /** `bos_token_id`, when set. */
  bosTokenId: number | undefined;
  /** OpenRLHF's reward normalisation (`mean`, `std`) when present. */
  rewardMean: number | undefined;
  /** See {@link Gpt2ConfigInfo.rewardMean}. */
  rewardStd: number | undefined;
  /** The file's `tfjs_rlhf` block (this library's extras), if any. */
  extras: Record<string, unknown>;
}

function field(raw: Record<string, unknown>, names: string[], fallback: unknown): unknown {
  for (const n of names) if (raw[n] !== undefined && raw[n] !== null) return raw[n];
  return fallback;
}

const optionalId = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined);
const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Reads a GPT-2 `config.json` (`n_embd`/`hidden_size`, `n_layer`, `n_head`, `n_positions`, `vocab_size`,
 * `n_inner`, `activation_function`, `layer_norm_epsilon`, `tie_word_embeddings`, with `GPT2Config`'s
 * defaults for absent fields). @internal
 * @throws {@link ConfigError} naming the file and field for another model type or architecture, an
 *   activation other than tanh-GELU, or attention variants this library does not compute.
 */
export function fromGpt2Config(raw: Record<string, unknown>, file: string): Gpt2ConfigInfo {
  const bad = (name: string, value: unknown, reason: string): never => {
    throw new ConfigError(`${file}: ${name}`, value, reason);
  };
  const modelType = raw.model_type ?? 'gpt2';
  if (modelType !== 'gpt2') bad('model_type', modelType, 'only GPT-2 models load (model_type "gpt2")');
  const archs = raw.architectures ?? ['GPT2LMHeadModel'];
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : bad('architectures', archs, 'must be a list of class names');
  if (!(GPT2_ARCHITECTURES as readonly string[]).includes(architecture)) bad('architectures', archs, `must be one of ${GPT2_ARCHITECTURES.join(', ')}`);
  const act = raw.activation_function ?? 'gelu_new';
  if (!TANH_GELU.includes(act as string)) bad('activation_function', act, `only the tanh GELU (${TANH_GELU.join(', ')}) is implemented`);
  if (raw.scale_attn_weights === false) bad('scale_attn_weights', false, 'unscaled attention is not implemented');
  if (raw.scale_attn_by_inverse_layer_idx === true) bad('scale_attn_by_inverse_layer_idx', true, 'is not implemented');
  if (raw.add_cross_attention === true) bad('add_cross_attention', true, 'is not implemented (decoder-only models)');
  const nEmbd = field(raw, ['n_embd', 'hidden_size'], 768) as number;
  const config: TransformerConfig = {
    vocabSize: field(raw, ['vocab_size'], 50257) as number,
    contextLength: field(raw, ['n_positions', 'max_position_embeddings', 'n_ctx'], 1024) as number,
    nLayer: field(raw, ['n_layer', 'num_hidden_layers'], 12) as number,
    nHead: field(raw, ['n_head', 'num_attention_heads'], 12) as number,
    dModel: nEmbd,
    dMlp: field(raw, ['n_inner'], typeof nEmbd === 'number' ? 4 * nEmbd : nEmbd) as number,
    layerNormEpsilon: field(raw, ['layer_norm_epsilon'], 1e-5) as number,
    tieEmbeddings: field(raw, ['tie_word_embeddings'], true) as boolean,
  };
  const extras = typeof raw.tfjs_rlhf === 'object' && raw.tfjs_rlhf !== null ? (raw.tfjs_rlhf as Record<string, unknown>) : {};
  if (typeof extras.seed === 'number') config.seed = extras.seed;
  return {
    config, architecture,
    padTokenId: optionalId(raw.pad_token_id), eosTokenId: optionalId(raw.eos_token_id), bosTokenId: optionalId(raw.bos_token_id),
    rewardMean: finite(raw.mean), rewardStd: finite(raw.std), extras,
  };
}

/** Token ids written into `config.json` / `generation_config.json`. @internal */
export interface SpecialIds {
  bos?: number | undefined;
  eos?: number | undefined;
  pad?: number | undefined;
}

/** A `GPT2Config` `config.json` for a resolved config (F32 weights). @internal */
export function toGpt2Config(c: ResolvedTransformerConfig, architecture: string, ids: SpecialIds, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: [architecture],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.contextLength,
    n_ctx: c.contextLength,
    n_embd: c.dModel,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: c.dMlp,
    activation_function: 'gelu_new',
    layer_norm_epsilon: c.layerNormEpsilon,
    resid_pdrop: c.dropout,
    embd_pdrop: c.dropout,
    attn_pdrop: 0,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    use_cache: true,
    tie_word_embeddings: c.tieEmbeddings,
    bos_token_id: ids.bos ?? null,
    eos_token_id: ids.eos ?? null,
    ...(ids.pad === undefined ? {} : { pad_token_id: ids.pad }),
    torch_dtype: 'float32',
    dtype: 'float32',
    ...extra,
    tfjs_rlhf: { seed: c.seed, ...((extra.tfjs_rlhf as object | undefined) ?? {}) },
  };
}

/**
 * `generation_config.json` -> generate defaults, following `GenerationConfig`: `do_sample: false` is
 * greedy (temperature 0); `do_sample: true` samples with `temperature` (default 1), `top_k` (default 50)
 * and `top_p` (default 1); `max_new_tokens` -> `maxNewTokens`; `eos_token_id` (an id or a list) ->
 * `stopTokens`. Fields that are absent leave this library's own defaults in place. @internal
 */
export function generationDefaults(raw: Record<string, unknown>, file: string): GenerateOptions {
  const out: GenerateOptions = {};
  const num = (name: string, min: number): number | undefined => {
    const v = raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ConfigError(`${file}: ${name}`, v, `must be a number >= ${min}`);
    return v;
  };
  if (raw.do_sample === false) out.temperature = 0;
  if (raw.do_sample === true) {
    out.temperature = num('temperature', 0) ?? 1;
    out.topK = num('top_k', 0) ?? 50;
    out.topP = num('top_p', 0) ?? 1;
  }
  const maxNew = num('max_new_tokens', 1);
  if (maxNew !== undefined) out.maxNewTokens = maxNew;
  const eos = raw.eos_token_id;
  const stops = typeof eos === 'number' ? [eos] : Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : [];
  if (stops.length > 0) out.stopTokens = stops;
  return out;
}

/** Generate defaults -> `generation_config.json` (only what is set). @internal */
export function toGenerationConfig(g: GenerateOptions, ids: SpecialIds): Record<string, unknown> {
  const out: Record<string, unknown> = { _from_model_config: false };
  if (ids.bos !== undefined) out.bos_token_id = ids.bos;
  const eos = g.stopTokens !== undefined && g.stopTokens.length > 0 ? [...g.stopTokens] : ids.eos;
  if (eos !== undefined) out.eos_token_id = Array.isArray(eos) && eos.length === 1 ? eos[0] : eos;
  if (ids.pad !== undefined) out.pad_token_id = ids.pad;
  if (g.temperature === 0) out.do_sample = false;
  else if (g.temperature !== undefined || g.topK !== undefined || g.topP !== undefined) {
    Object.assign(out, { do_sample: true, temperature: g.temperature ?? 1, top_k: g.topK ?? 0, top_p: g.topP ?? 1 });
  }
  if (g.maxNewTokens !== undefined) out.max_new_tokens = g.maxNewTokens;
  return out;
}
