/**
 * The metrics DPO reports, under TRL's names (`DPOTrainer.compute_loss`); each documented once here.
 * @module
 */

/** Metrics of a DPO step or evaluation (means over preference pairs; each pair counts once). */
export interface DPOStats {
  /** The loss (pairs weighted so each record counts once; listwise: mean over records). */
  loss: number;
  /** Mean implicit reward `beta * (logp - logp_ref)` of the chosen responses. */
  'rewards/chosen': number;
  /** Mean implicit reward of the rejected responses. */
  'rewards/rejected': number;
  /** Fraction of pairs with chosen reward strictly greater than rejected (0 at step 0). */
  'rewards/accuracies': number;
  /** Mean of chosen minus rejected reward. */
  'rewards/margins': number;
  /** Mean summed completion log-prob of the chosen responses under the policy. */
  'logps/chosen': number;
  /** Mean summed completion log-prob of the rejected responses under the policy. */
  'logps/rejected': number;
  /** Number of pairs. */
  num_pairs: number;
}

/** One entry of the DPO training history. */
export interface DPOStepStats extends DPOStats {
  /** Optimizer steps so far, this one included. */
  step: number;
  /** 1-based epoch, counted over every `train` call of this trainer (and across save / load). */
  epoch: number;
  /** Learning rate used. */
  learning_rate: number;
  /** Global gradient norm before clipping. */
  grad_norm: number;
}

/** Per-pair values read back from a batch. */
export interface PairValues {
  /** Implicit rewards of the chosen responses. */
  chosen: number[];
  /** Implicit rewards of the rejected responses. */
  rejected: number[];
  /** Policy log-probs of the chosen responses. */
  logpChosen: number[];
  /** Policy log-probs of the rejected responses. */
  logpRejected: number[];
}

const avg = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, x) => a + x, 0) / xs.length);

/** Stats from a loss and per-pair values. */
export function dpoStats(loss: number, v: PairValues): DPOStats {
  const n = v.chosen.length;
  let acc = 0;
  let margin = 0;
  for (let i = 0; i < n; i++) {
    const d = (v.chosen[i] as number) - (v.rejected[i] as number);
    if (d > 0) acc++;
    margin += d;
  }
  return {
    loss, 'rewards/chosen': avg(v.chosen), 'rewards/rejected': avg(v.rejected),
    'rewards/accuracies': n === 0 ? 0 : acc / n, 'rewards/margins': n === 0 ? 0 : margin / n,
    'logps/chosen': avg(v.logpChosen), 'logps/rejected': avg(v.logpRejected), num_pairs: n,
  };
}
