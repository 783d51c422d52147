/**
 * Held-out perplexity of a policy on a token stream, with the protocol of the SparseGPT scripts
 * (`opt_eval`): the stream cut into non-overlapping windows of `seqLen` tokens (remainder dropped),
 * mean next-token NLL over all predictions, `exp` of it.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { TransformerPolicy } from '../models/policy';
import { checkInteger } from '../ops/validate';

/** Options of {@link perplexity}. */
export interface PerplexityOptions {
  /** Tokens per window. Default: the model's `contextLength`. */
  seqLen?: number;
  /** Evaluate at most this many windows. Default: all. */
  maxWindows?: number;
  /** Windows per forward pass. Default `8`. */
  batchSize?: number;
}

/** Result of {@link perplexity}. */
export interface PerplexityResult {
  /** Mean next-token loss in nats. */
  loss: number;
  /** `exp(loss)`. */
  perplexity: number;
  /** Number of windows evaluated. */
  windows: number;
}

/** `{ loss, perplexity, windows }`: mean NLL in nats per token over `windows` windows of `tokens`. */
export async function perplexity(policy: TransformerPolicy, tokens: ArrayLike<number>, options: PerplexityOptions = {}): Promise<PerplexityResult> {
  const L = checkInteger('PerplexityOptions.seqLen', options.seqLen ?? policy.config.contextLength, 2, policy.config.contextLength);
  const bs = checkInteger('PerplexityOptions.batchSize', options.batchSize ?? 8, 1);
  const windows = Math.min(Math.floor(tokens.length / L), options.maxWindows ?? Infinity);
  if (windows < 1) throw new InputError('tokens.length', tokens.length, `must hold at least one window of ${L} tokens`);
  let total = 0;
  for (let w = 0; w < windows; w += bs) {
    const n = Math.min(bs, windows - w);
    const ids = new Int32Array(n * L);
    for (let b = 0; b < n; b++) for (let t = 0; t < L; t++) ids[b * L + t] = tokens[(w + b) * L + t] as number;
    const sum = tf.tidy(() => tf.sum(policy.tokenLogProbs({ ids, mask: new Int32Array(n * L).fill(1), batch: n, length: L })));
    total -= (await sum.data())[0] as number;
    sum.dispose();
  }
  const loss = total / (windows * (L - 1));
  return { loss, perplexity: Math.exp(loss), windows };
}
