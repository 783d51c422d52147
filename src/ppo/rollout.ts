/**
 * PPO stage 1 (numbered as in docs/guides/ppo.md), rollout: encode and generate, then lay the batch
 * out once, in the layout every later stage uses: `[pad.., prompt.., response.., pad..]`, prompts
 * left-padded to a common column `P`, responses right-padded to `R`. Other trainers (GRPO, RLOO) reuse
 * it with their own {@link RolloutOptions}.
 * @module
 */
import { InputError } from '../errors';
import type { Rng } from '../ops/random';
import { promptResponseBatch, type PaddedBatch } from '../models/batch';
import type { TransformerPolicy } from '../models/policy';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { ResolvedPPOOptions } from './options';
import type { DialogueRolloutInfo } from '../dialogue/conversation';

/** The sampling settings {@link rollout} reads (a subset of the PPO options, so other trainers can pass their own). */
export type RolloutOptions = Pick<ResolvedPPOOptions, 'maxNewTokens' | 'temperature' | 'topK' | 'topP' | 'stopTokens'>
  & Partial<Pick<ResolvedPPOOptions, 'tools' | 'maxToolCalls'>>;

/** The samples of one PPO step and their fixed layout. */
export interface Rollout {
  /** Prompt texts. */
  prompts: string[];
  /** Prompt token ids. */
  promptIds: number[][];
  /** Response token ids, ending with the stop token when one was generated. */
  responseIds: number[][];
  /** Whether each response ended with a stop token. */
  hitStop: boolean[];
  /** The full batch `[B, P + R]`. */
  batch: PaddedBatch;
  /** First response column `P`. */
  responseStart: number;
  /** Response columns `R`. */
  responseLength: number;
  /** `[B * R]`: 1 on real response tokens the policy wrote (0 on padding and on tokens a tool wrote). */
  responseMask: Float32Array;
  /** Tool calls per response (`0`s without tools). */
  toolCalls: number[];
  /** Tool calls per response whose result was an error (`0`s without tools). */
  toolErrors: number[];
  /** The conversations and their turns, when the rollout is a multi-turn dialogue (`PPOTrainerOptions.dialogue`). */
  dialogue?: DialogueRolloutInfo;
}

/** Encodes prompts, checking they are non-empty and leave room for `maxNewTokens`. */
export function encodePrompts(prompts: readonly string[], tokenizer: Tokenizer, policy: TransformerPolicy, o: Pick<RolloutOptions, 'maxNewTokens'>): number[][] {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new InputError('prompts', prompts, 'must be a non-empty array of strings');
  return prompts.map((p, i) => {
    if (typeof p !== 'string') throw new InputError(`prompts[${i}]`, p, 'must be a string');
    const ids = tokenizer.encode(p);
    if (ids.length === 0) throw new InputError(`prompts[${i}]`, p, 'encodes to no tokens');
    if (ids.length + o.maxNewTokens > policy.config.contextLength) {
      throw new InputError(`prompts[${i}]`, `${ids.length} tokens`, `plus maxNewTokens = ${o.maxNewTokens} exceeds contextLength = ${policy.config.contextLength}`);
    }
    return ids;
  });
}

/** Stage 1: samples one response per prompt from the policy (KV cache, no top-k/top-p by default). */
export async function rollout(
  policy: TransformerPolicy,
  prompts: readonly string[],
  tokenizer: Tokenizer,
  o: RolloutOptions,
  rng: Rng,
): Promise<Rollout> {
  const promptIds = encodePrompts(prompts, tokenizer, policy, o);
  const tools = o.tools ?? [];
  const { tokens, fromTool, toolCalls, toolErrors } = await policy.generate(promptIds, {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    stopTokens: o.stopTokens,
    seed: rng.nextUint32(),
    ...(tools.length > 0 && { tools, maxToolCalls: o.maxToolCalls ?? 4, tokenizer }),
  });
  const stops = new Set(o.stopTokens);
  const hitStop = tokens.map((t) => t.length > 0 && stops.has(t[t.length - 1] as number));
  const batch = promptResponseBatch(promptIds, tokens, tokenizer.padId < policy.config.vocabSize ? tokenizer.padId : 0);
  const B = batch.batch;
  const R = batch.responseLength;
  const responseMask = new Float32Array(B * R);
  tokens.forEach((t, b) => responseMask.fill(1, b * R, b * R + t.length));
  // The policy is not trained to predict what a tool wrote: those tokens leave every loss and the KL.
  fromTool?.forEach((row, b) => row.forEach((tool, j) => { if (tool) responseMask[b * R + j] = 0; }));
  return {
    prompts: [...prompts], promptIds, responseIds: tokens, hitStop, batch,
    responseStart: batch.responseStart, responseLength: R, responseMask,
    toolCalls: toolCalls ?? tokens.map(() => 0), toolErrors: toolErrors ?? tokens.map(() => 0),
  };
}

/** The rows `rows` of a rollout's batch (same width), for a minibatch. */
export function selectRows(batch: PaddedBatch, rows: readonly number[]): PaddedBatch {
  const T = batch.length;
  const ids = new Int32Array(rows.length * T);
  const mask = new Int32Array(rows.length * T);
  rows.forEach((r, i) => {
    ids.set(batch.ids.subarray(r * T, (r + 1) * T), i * T);
    mask.set(batch.mask.subarray(r * T, (r + 1) * T), i * T);
  });
  return { ids, mask, batch: rows.length, length: T };
}

/** Rows `rows` of a row-major `[B, W]` array. */
export function selectFlat(x: Float32Array, width: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(x.subarray(r * width, (r + 1) * width), i * width));
  return out;
}
