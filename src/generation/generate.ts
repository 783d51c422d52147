/**
 * The options of generation and their validation. This folder knows nothing of the model: the decoding
 * loop that runs a {@link Transformer} with a KV cache lives in `models/decode.ts` and takes the
 * options resolved here (so `models/` depends on `generation/`, never the other way round).
 * @module
 */
import { ConfigError } from '../errors';
import { checkBoolean, checkFunction, checkInteger, checkSeed, checkTokenIds } from '../ops/validate';
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from './sampling';
import { checkTools, type Tool } from '../tools/tool';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { checkWorkersOption, type WorkersOption } from '../parallel/options';

/** Options of {@link TransformerPolicy.generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate per prompt (stop token included); integer >= 1. Default `32`. */
  maxNewTokens?: number;
  /** Generation of a row ends after it emits any of these ids (the stop token is returned); an array of token ids. Default `[]`. */
  stopTokens?: readonly number[];
  /** Seed for this call (any safe integer); when omitted the policy's own random stream is used (and advanced). */
  seed?: number;
  /** Reuse keys and values of earlier tokens. Default `true`. */
  useCache?: boolean;
  /** Called after each generated position with the number done so far (for progress bars). Default: none. */
  onToken?: (done: number, total: number) => void;
  /**
   * Tools the policy may call: when a row's text (decoded since its last call) holds a tool's `end`
   * marker after its `start` marker, the tool runs on the text between them and its result's tokens
   * are written right after the token that completed `end`, fed through the KV cache one per step
   * while other rows keep sampling; they count toward `maxNewTokens` and are marked in
   * {@link GenerateResult.fromTool}. Requires `tokenizer`. Default `[]` (no tools).
   */
  tools?: readonly Tool[];
  /** Most tool calls per row; later `end` markers stay plain text. Integer >= 0. Default `4`. */
  maxToolCalls?: number;
  /** Tokenizer that decodes rows to find tool markers and encodes tool results; required with `tools`. Default: none. */
  tokenizer?: Tokenizer;
  /**
   * Threads that decode (Node, wasm or cpu backend): the rows are split into contiguous shards, the
   * main thread decoding one and each worker thread (holding a replica of the policy, kept in sync)
   * another; every row gets the tokens it gets in-process (the random draws are scheduled across
   * threads), up to float rounding. `'auto'` = the cores available, capped by the rows; `1` or a
   * single row = in-process; calls with `tools` run in-process. Default `1`: on 2 cores with models
   * of 1-4 M parameters, splitting 8-16 rows measured slower than one thread (a position costs nearly
   * as much for half the rows, and the threads synchronise at every position; docs/benchmarks.md), so
   * ask for it where rows are many or the model is large. `TFJS_RLHF_WORKERS` does not apply here.
   */
  workers?: WorkersOption;
}

/** What {@link TransformerPolicy.generate} returns. */
export interface GenerateResult {
  /** New tokens per prompt, the stop token included when hit. */
  tokens: number[][];
  /** Log-probability of each new token under `softmax(logits / temperature)` (temperature 1 when greedy). */
  logProbs: number[][];
  /**
   * Parallel to `tokens`: `true` where a tool wrote the token (its `logProbs` entry is `0`: it was not
   * sampled). All `false` without tools. Optional only for results built elsewhere.
   */
  fromTool?: boolean[][];
  /** Tool calls made per row (`0`s without tools). */
  toolCalls?: number[];
  /** Tool calls per row that returned an `error: ...` text or threw. */
  toolErrors?: number[];
}

/** {@link GenerateOptions} validated against a vocabulary, defaults filled in. */
export interface ResolvedGenerateOptions {
  /** Most tokens per prompt. */
  maxNewTokens: number;
  /** Ids that end a row. */
  stopTokens: ReadonlySet<number>;
  /** Temperature, top-k and top-p. */
  sampling: ResolvedSampling;
  /** The call's seed; absent: use the policy's own stream. */
  seed?: number;
  /** Whether to reuse keys and values. */
  useCache: boolean;
  /** Progress callback; absent: none. */
  onToken?: (done: number, total: number) => void;
  /** The tools (empty: none). */
  tools: readonly Tool[];
  /** Most tool calls per row. */
  maxToolCalls: number;
  /** Tokenizer for tool calls; present whenever `tools` is non-empty. */
  tokenizer?: Tokenizer;
  /** Threads that decode. */
  workers: WorkersOption;
}

/**
 * Validates {@link GenerateOptions} for a model of `vocabSize` tokens (throws {@link ConfigError} naming
 * the option and value) and fills in the defaults. The prompts are checked by the caller, which knows
 * the context length.
 */
export function resolveGenerateOptions(o: GenerateOptions, vocabSize: number): ResolvedGenerateOptions {
  if (typeof o !== 'object' || o === null) throw new ConfigError('options', o, 'must be a GenerateOptions object');
  const tools = checkTools('GenerateOptions.tools', o.tools ?? []);
  if (tools.length > 0 && (typeof o.tokenizer !== 'object' || o.tokenizer === null || typeof o.tokenizer.encode !== 'function')) {
    throw new ConfigError('GenerateOptions.tokenizer', o.tokenizer, 'is required with tools (it encodes tool results)');
  }
  return {
    tools,
    maxToolCalls: checkInteger('GenerateOptions.maxToolCalls', o.maxToolCalls ?? 4, 0),
    ...(o.tokenizer === undefined ? {} : { tokenizer: o.tokenizer }),
    maxNewTokens: checkInteger('maxNewTokens', o.maxNewTokens ?? 32, 1),
    stopTokens: new Set(checkTokenIds('stopTokens', o.stopTokens ?? [], vocabSize)),
    sampling: resolveSampling(o, vocabSize),
    ...(o.seed === undefined ? {} : { seed: checkSeed('seed', o.seed) }),
    useCache: checkBoolean('useCache', o.useCache ?? true),
    workers: o.workers === undefined ? 1 : checkWorkersOption('GenerateOptions.workers', o.workers),
    ...(o.onToken === undefined ? {} : { onToken: checkFunction<(done: number, total: number) => void>('onToken', o.onToken, '(done, total) => void') }),
  };
}
