/**
 * Autoregressive decoding with an optional KV cache: the loop behind {@link TransformerPolicy.generate}.
 * Prompts of different lengths are left-padded; positions come from the mask, so padding does not change
 * what a row generates. With the cache each new token attends to the cached keys: O(context) work per
 * token instead of O(context^2). Options are validated by `generation/generate.ts` beforehand.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { Rng } from '../ops/random';
import type { GenerateResult, ResolvedGenerateOptions } from '../generation/generate';
import { sampleFromLogits } from '../generation/sampling';
import { attentionBias, checkTokenRows, leftPad } from './batch';
import type { LayerCache, Transformer } from './transformer';
import { ToolRunner } from '../tools/runner';
import type { DrawSchedule } from '../parallel/lockstep';

interface StepState {
  keyMask: number[][];
  positions: number[];
  cache: LayerCache[] | undefined;
  /** Positions the cache must hold: prompt + new tokens. */
  capacity: number;
}

function disposeCache(cache: LayerCache[] | undefined): void {
  cache?.forEach((c) => tf.dispose([c.kT, c.v]));
}

/** Runs the model on `ids` (the new columns) and returns last-position logits `[B, V]` and the new cache. */
function runStep(model: Transformer, ids: number[][], state: StepState, keep: boolean, headT: tf.Tensor2D): { logits: tf.Tensor2D; cache: LayerCache[] } {
  const B = ids.length;
  const T = (ids[0] as number[]).length;
  const first = state.cache?.[0];
  const pastLen = first ? (first.length ?? first.kT.shape[2]) : 0;
  const Tk = pastLen + T;
  const keyMask = new Int32Array(B * Tk);
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const km = state.keyMask[b] as number[];
    let c = state.positions[b] as number;
    for (let j = 0; j < Tk; j++) keyMask[b * Tk + j] = km[j] as number;
    for (let t = 0; t < T; t++) {
      const m = km[pastLen + t] as number;
      pos[b * T + t] = c;
      c += m;
    }
  }
  return tf.tidy(() => {
    const out = model.forward({
      ids: tf.tensor1d(ids.flat(), 'int32'),
      positions: tf.tensor1d(pos, 'int32'),
      bias: tf.tensor4d(attentionBias(keyMask, B, T, Tk, pastLen), [B, 1, T, Tk]),
      batch: B,
      length: T,
      ...(state.cache ? { cache: state.cache } : {}),
      ...(keep ? { cacheCapacity: state.capacity } : {}),
    });
    const d = out.hidden.shape[1];
    const last = tf.reshape(out.hidden, [B, T, d]).slice([0, T - 1, 0], [B, 1, d]).reshape([B, d]) as tf.Tensor2D;
    return { logits: model.logits(last, headT), cache: keep ? out.cache : [] } as unknown as tf.TensorContainer;
  }) as unknown as { logits: tf.Tensor2D; cache: LayerCache[] };
}

/** Checks the prompts against the model: token ids in the vocabulary, and room for `maxNewTokens`. */
export function checkPrompts(model: Transformer, prompts: readonly (readonly number[])[], maxNewTokens: number): void {
  const c = model.config;
  checkTokenRows(prompts, c.vocabSize, 'prompts');
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest + maxNewTokens > c.contextLength) {
    const b = prompts.findIndex((p) => p.length === longest);
    throw new InputError(`prompts[${b}].length`, longest,
      `plus maxNewTokens = ${maxNewTokens} exceeds contextLength = ${c.contextLength}; shorten the prompt or lower maxNewTokens`);
  }
}

/**
 * Generates continuations of `prompts` (token rows) with options resolved by `resolveGenerateOptions`.
 * Leaves no tensors behind.
 * @throws {@link InputError} naming the prompt that is invalid or too long.
 */
export async function generateTokens(
  model: Transformer,
  prompts: readonly (readonly number[])[],
  options: ResolvedGenerateOptions,
  rng: Rng,
  schedule?: DrawSchedule,
): Promise<GenerateResult> {
  const { maxNewTokens, stopTokens, sampling, useCache } = options;
  checkPrompts(model, prompts, maxNewTokens);
  const padded = leftPad(prompts, 0);
  const B = padded.batch;
  const P = padded.length;
  const rows: number[][] = [];
  for (let b = 0; b < B; b++) rows.push(Array.from(padded.ids.subarray(b * P, (b + 1) * P)));
  const state: StepState = {
    keyMask: rows.map((_, b) => Array.from(padded.mask.subarray(b * P, (b + 1) * P))),
    positions: rows.map(() => 0),
    cache: undefined,
    capacity: P + maxNewTokens,
  };
  const tokens: number[][] = rows.map(() => []);
  const logProbs: number[][] = rows.map(() => []);
  const fromTool: boolean[][] = rows.map(() => []);
  const done = rows.map(() => false);
  const tools = options.tools.length > 0 && options.tokenizer !== undefined
    ? new ToolRunner(options.tools, options.tokenizer, options.maxToolCalls, B) : undefined;
  let input = rows;
  const headT = tf.tidy(() => model.headT()); // [d, V], once per call instead of once per token
  let step = 0;
  try {
    for (; step < maxNewTokens && done.includes(false); step++) {
      const { logits, cache } = runStep(model, input, useCache ? state : { ...state, cache: undefined }, useCache, headT);
      if (useCache) {
        disposeCache(state.cache);
        state.cache = cache;
        state.positions = state.keyMask.map((m) => m.reduce((a, x) => a + x, 0));
      }
      const values = await logits.data();
      logits.dispose();
      const V = model.config.vocabSize;
      const next: number[] = [];
      const sampled = rows.map(() => false);
      const draw = schedule === undefined ? rng : await schedule.rngAt(step); // a shard of a split generation: this position's draws
      let draws = 0;
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          next.push(0);
          (state.keyMask[b] as number[]).push(0);
          continue;
        }
        const forced = tools?.nextForced(b); //           a tool-written token is fed, not sampled
        const { token, logProb } = forced !== undefined ? { token: forced, logProb: 0 } : sampleFromLogits(values.subarray(b * V, (b + 1) * V), sampling, draw);
        if (forced === undefined && sampling.temperature > 0) draws++;
        (tokens[b] as number[]).push(token);
        (logProbs[b] as number[]).push(logProb);
        (fromTool[b] as boolean[]).push(forced !== undefined);
        (state.keyMask[b] as number[]).push(1);
        next.push(token);
        sampled[b] = forced === undefined;
        if (forced === undefined && stopTokens.has(token)) done[b] = true;
      }
      schedule?.publish(step, draws);
      await tools?.afterStep(tokens, sampled.map((s, b) => s && !done[b]));
      input = useCache ? next.map((t) => [t]) : input.map((r, b) => [...r, next[b] as number]);
      options.onToken?.(step + 1, maxNewTokens);
    }
  } finally {
    disposeCache(state.cache);
    headT.dispose();
  }
  schedule?.finish(step);
  return { tokens, logProbs, fromTool, toolCalls: tools?.calls ?? rows.map(() => 0), toolErrors: tools?.errors ?? rows.map(() => 0) };
}
