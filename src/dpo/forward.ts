/**
 * The DPO forward pass: summed completion log-probs of every response of a batch of records (prompt
 * masked, EOS included, dropout off), then the pairwise or listwise loss and the per-pair metrics
 * TRL logs.
 * @module
 */
import { tf } from '../tf';
import { promptResponseBatch } from '../models/batch';
import type { TransformerPolicy } from '../models/policy';
import { dpoLoss, plackettLuceLoss } from '../rl/preference';
import type { EncodedPreference } from './data';
import type { ResolvedDPOOptions } from './options';

/**
 * `[N]` summed log-probs of `responses[n]` after `prompts[n]` (call inside a tidy). Masked by each
 * response's length (never by pad id), so a real EOS is always scored.
 */
export function sequenceLogps(model: TransformerPolicy, prompts: readonly number[][], responses: readonly number[][], padId: number): tf.Tensor1D {
  const batch = promptResponseBatch(prompts, responses, padId < model.config.vocabSize ? padId : 0);
  const N = batch.batch;
  const R = batch.responseLength;
  const lp = model.tokenLogProbs(batch, { from: batch.responseStart, training: false }); // [N, R]
  const mask = new Float32Array(N * R);
  responses.forEach((r, n) => mask.fill(1, n * R, n * R + r.length));
  return tf.sum(tf.mul(lp, tf.tensor2d(mask, [N, R])), 1) as tf.Tensor1D; //             [N]
}

/** The rows of a batch of records: every response once, in record order. */
export function batchRows(batch: readonly EncodedPreference[]): { prompts: number[][]; responses: number[][]; offsets: number[] } {
  const prompts: number[][] = [];
  const responses: number[][] = [];
  const offsets: number[] = [];
  for (const g of batch) {
    offsets.push(responses.length);
    for (const r of g.responses) {
      prompts.push(g.prompt);
      responses.push(r);
    }
  }
  return { prompts, responses, offsets };
}

/** Loss and per-pair metric tensors of one batch (call inside a tidy or the optimizer's tape). */
export function dpoBatchLoss(
  policyLogps: tf.Tensor1D, //  [N] with gradient
  refLogps: Float32Array, //    [N]
  batch: readonly EncodedPreference[],
  offsets: readonly number[],
  o: Pick<ResolvedDPOOptions, 'beta' | 'lossType' | 'labelSmoothing' | 'rankings'>,
): { loss: tf.Scalar; metrics: Record<string, tf.Tensor> } {
  const chosen: number[] = [];
  const rejected: number[] = [];
  const weight: number[] = [];
  batch.forEach((g, i) => g.pairs.forEach(([w, l]) => {
    chosen.push((offsets[i] as number) + w);
    rejected.push((offsets[i] as number) + l);
    weight.push(1 / (g.pairs.length * batch.length));
  }));
  const ref = tf.tensor1d(refLogps);
  const ci = tf.tensor1d(chosen, 'int32');
  const ri = tf.tensor1d(rejected, 'int32');
  const pw = tf.gather(policyLogps, ci); //                                       [P]
  const pl = tf.gather(policyLogps, ri); //                                       [P]
  const out = dpoLoss({
    policyChosenLogps: pw, policyRejectedLogps: pl, refChosenLogps: tf.gather(ref, ci), refRejectedLogps: tf.gather(ref, ri),
    beta: o.beta, lossType: o.lossType, labelSmoothing: o.labelSmoothing,
  });
  let loss = tf.sum(tf.mul(out.losses, tf.tensor1d(weight))) as tf.Scalar;
  if (o.rankings === 'plackett-luce') loss = listwiseLoss(policyLogps, ref, batch, offsets, o.beta);
  return { loss, metrics: { chosen: out.chosenRewards, rejected: out.rejectedRewards, logpChosen: pw, logpRejected: pl } };
}

/** Mean over records of the Plackett-Luce loss, records padded to the largest K. */
function listwiseLoss(policyLogps: tf.Tensor1D, ref: tf.Tensor1D, batch: readonly EncodedPreference[], offsets: readonly number[], beta: number): tf.Scalar {
  const G = batch.length;
  const K = Math.max(...batch.map((g) => g.responses.length));
  const idx = new Int32Array(G * K);
  const mask = new Float32Array(G * K);
  const ranks = new Float32Array(G * K);
  batch.forEach((g, i) => g.ranks.forEach((r, k) => {
    idx[i * K + k] = (offsets[i] as number) + k;
    mask[i * K + k] = 1;
    ranks[i * K + k] = r;
  }));
  const at = tf.tensor1d(idx, 'int32');
  const out = plackettLuceLoss({
    policyLogps: tf.reshape(tf.gather(policyLogps, at), [G, K]), refLogps: tf.reshape(tf.gather(ref, at), [G, K]),
    ranks: tf.tensor2d(ranks, [G, K]), mask: tf.tensor2d(mask, [G, K]), beta,
  });
  return out.loss;
}
