/**
 * Choosing the next token from one row of logits, in plain TypeScript with a seeded {@link Rng}.
 * The reported log-probability is always under the full tempered distribution `softmax(logits / T)`
 * (T = 1 for greedy), which is what a later forward pass computes; top-k / top-p only restrict which
 * tokens can be drawn.
 * @module
 */
import { ConfigError } from '../errors';
import { checkInteger, checkNumber } from '../ops/validate';
import type { Rng } from '../ops/random';

/** How to pick the next token. */
export interface SamplingOptions {
  /** Softmax temperature; `0` means greedy (argmax). Default `1`. */
  temperature?: number;
  /** Keep only the `topK` most likely tokens; `0` disables. Default `0`. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches `topP`; `1` disables. Default `1`. */
  topP?: number;
}

/** Resolved {@link SamplingOptions}. */
export interface ResolvedSampling {
  /** Temperature (0 = greedy). */
  temperature: number;
  /** Top-k (0 = off). */
  topK: number;
  /** Top-p (1 = off). */
  topP: number;
}

/** Validates sampling options (throws {@link ConfigError} naming the option) and fills in defaults. */
export function resolveSampling(o: SamplingOptions, vocabSize: number): ResolvedSampling {
  if (typeof o !== 'object' || o === null) throw new ConfigError('options', o, 'must be a SamplingOptions object');
  return {
    temperature: checkNumber('temperature', o.temperature ?? 1, { ge: 0 }), // 0 = greedy
    topK: checkInteger('topK', o.topK ?? 0, 0, vocabSize), //                  0 = off
    topP: checkNumber('topP', o.topP ?? 1, { gt: 0, le: 1 }), //              1 = off
  };
}

/** `log softmax(row / t)` evaluated at every index, in float64. */
export function logSoftmaxRow(row: ArrayLike<number>, t: number): Float64Array {
  const n = row.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, (row[i] as number) / t);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp((row[i] as number) / t - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[i] = (row[i] as number) / t - lse;
  return out;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

/** Indices allowed by top-k and top-p, most likely first (all indices when both are off). */
function candidates(logp: Float64Array, topK: number, topP: number): number[] {
  const idx = Array.from({ length: logp.length }, (_, i) => i);
  if (topK === 0 && topP >= 1) return idx;
  idx.sort((a, b) => (logp[b] as number) - (logp[a] as number) || a - b);
  let keep = topK > 0 ? idx.slice(0, topK) : idx;
  if (topP < 1) {
    let mass = 0;
    const out: number[] = [];
    for (const i of keep) {
      out.push(i);
      mass += Math.exp(logp[i] as number);
      if (mass >= topP) break;
    }
    keep = out;
  }
  return keep;
}

/** A chosen token and its log-probability. */
export interface SampledToken {
  /** The token id. */
  token: number;
  /** Its log-probability under `softmax(logits / T)` (T = 1 when greedy). */
  logProb: number;
}

/** Picks a token from one row of logits. Returns it with its log-probability (see module doc). */
export function sampleFromLogits(row: ArrayLike<number>, s: ResolvedSampling, rng: Rng): SampledToken {
  if (s.temperature === 0) {
    const token = argmax(row);
    return { token, logProb: logSoftmaxRow(row, 1)[token] as number };
  }
  const logp = logSoftmaxRow(row, s.temperature);
  const pool = candidates(logp, s.topK, s.topP);
  let total = 0;
  for (const i of pool) total += Math.exp(logp[i] as number);
  let u = rng.next() * total;
  let token = pool[pool.length - 1] as number;
  for (const i of pool) {
    u -= Math.exp(logp[i] as number);
    if (u < 0) {
      token = i;
      break;
    }
  }
  return { token, logProb: logp[token] as number };
}
