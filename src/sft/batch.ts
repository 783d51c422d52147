/**
 * Batching SFT sequences: left-padded token rows plus the loss mask aligned with the output of
 * `policy.tokenLogProbs(batch, { from: 1 })`.
 * @module
 */
import { leftPad, type PaddedBatch } from '../models/batch';
import type { SFTSequence } from './examples';

/** A padded batch of SFT sequences and its target mask. */
export interface SFTBatch {
  /** `[B, T]` rows `[pad.., tokens..]` (left padding; positions come from the mask). */
  batch: PaddedBatch;
  /**
   * `[B * (T - 1)]` row-major, aligned with `tokenLogProbs(batch, { from: 1 })`: entry `(b, c - 1)` is 1
   * iff the token at column `c` of row `b` is a target (its sequence's `lossMask` is 1 there).
   */
  lossMask: Float32Array;
  /** Number of targets: the sum of `lossMask`. */
  tokens: number;
}

/**
 * Left-pads sequences into one batch and builds the loss mask of their targets.
 * @param seqs - Non-empty list of sequences, each at least 2 tokens long.
 * @param padId - Id written into padding (never a target).
 */
export function sftBatch(seqs: readonly SFTSequence[], padId: number): SFTBatch {
  const batch = leftPad(seqs.map((s) => s.ids), padId);
  const { batch: B, length: T } = batch;
  const lossMask = new Float32Array(B * (T - 1));
  let tokens = 0;
  seqs.forEach((s, b) => {
    const off = T - s.ids.length; // column of the sequence's token 0
    // token i sits at column off + i; its log-prob is output index off + i - 1. Token 0 has no context.
    for (let i = 1; i < s.ids.length; i++) {
      if (s.lossMask[i] !== 1) continue;
      lossMask[b * (T - 1) + off + i - 1] = 1;
      tokens++;
    }
  });
  return { batch, lossMask, tokens };
}
