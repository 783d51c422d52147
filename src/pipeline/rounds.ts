/**
 * Rounds of human (or AI) feedback, as InstructGPT ran them: collect comparisons on the CURRENT policy
 * -> continue training the reward model on everything collected so far -> PPO -> repeat. Each round
 * saves its policy, reward model and a summary in one folder, written atomically as a whole.
 * @module
 */
import { ConfigError } from '../errors';
import type { CollectSummary } from '../feedback/collect/collector';
import { nestFiles, writeDirAtomic } from '../io/atomic-dir';
import { joinPath } from '../io/paths';
import { modelFiles } from '../models/files';
import { rewardModelFiles } from '../reward/reward-model';
import type { RlhfPipeline } from './pipeline';

/** Options of {@link runRounds}. */
export interface RoundsOptions {
  /** Number of rounds. Required, ≥ 1. */
  rounds: number;
  /**
   * Prompts to collect comparisons on in round `round` (1-based): an array per round, or a function.
   * Required.
   */
  comparisonPrompts: readonly (readonly string[])[] | ((round: number) => readonly string[]);
  /** Prompts for the PPO rollouts of every round. Required. */
  ppoPrompts: readonly string[];
  /** Called after each round with its summary (e.g. to print it or stop early by throwing). */
  onRound?: (summary: RoundSummary) => void | Promise<void>;
  /** Aborts the labelling wait of the current round. */
  signal?: AbortSignal;
}

/** What one round did. */
export interface RoundSummary {
  /** 1-based round number. */
  round: number;
  /** The collection of this round. */
  collected: CollectSummary;
  /** Ranking records the reward model trained on (all rounds so far, less the held-out ones). */
  rewardTrainRecords: number;
  /** Held-out pairwise accuracy of the reward model after this round's training (`NaN` if none held out). */
  rewardAccuracy: number;
  /** Held-out pairwise accuracy before this round's training: how well last round's model predicts new labels. */
  rewardAccuracyBefore: number;
  /** Mean reward-model score of the first and last PPO step's rollouts. */
  meanReward: {
    /** At the first PPO step of the round. */
    first: number;
    /** At the last PPO step of the round. */
    last: number;
  };
  /** Mean KL to the reference (the SFT policy) at the last PPO step, nats per sequence. */
  kl: number;
  /** Folder with this round's `policy/`, `reward-model/` and `summary.json`. */
  checkpoint: string;
}

function promptsOf(o: RoundsOptions, round: number): readonly string[] {
  const p = typeof o.comparisonPrompts === 'function' ? o.comparisonPrompts(round) : o.comparisonPrompts[round - 1];
  if (!Array.isArray(p) || p.length === 0) {
    throw new ConfigError(`comparisonPrompts[${round - 1}]`, p, `round ${round} needs a non-empty array of prompts`);
  }
  return p;
}

/**
 * Runs `rounds` rounds of collect -> reward model -> PPO on `pipeline` (after its SFT stage). The
 * reward model keeps training across rounds on all comparisons collected so far; the KL reference
 * stays the policy PPO first started from. Writes `<outDir>/round-<n>/` per round.
 */
export async function runRounds(pipeline: RlhfPipeline, options: RoundsOptions): Promise<RoundSummary[]> {
  const n = options.rounds;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError('rounds', n, 'must be an integer >= 1');
  if (typeof options.comparisonPrompts !== 'function') promptsOf(options, n); // fail before round 1, not after hours of labelling
  const logger = pipeline.options.logger;
  const out: RoundSummary[] = [];
  for (let round = 1; round <= n; round++) {
    logger.log('info', `round ${round}/${n}`, { round });
    const collected = await pipeline.collect(promptsOf(options, round), options.signal === undefined ? {} : { signal: options.signal });
    const reward = await pipeline.trainRewardModel();
    const ppo = await pipeline.ppo(options.ppoPrompts);
    const checkpoint = joinPath(pipeline.options.outDir, `round-${round}`);
    const summary: RoundSummary = {
      round, collected, rewardTrainRecords: reward.trainRecords,
      rewardAccuracy: reward.after?.accuracy ?? Number.NaN,
      rewardAccuracyBefore: reward.before?.accuracy ?? Number.NaN,
      meanReward: { first: ppo.firstScore, last: ppo.lastScore }, kl: ppo.lastKl, checkpoint,
    };
    const { policy, rewardModel } = pipeline;
    await writeDirAtomic(checkpoint, { // policy, reward model and summary: one atomic save
      ...nestFiles('policy', modelFiles(policy.toSafetensors(), policy.config)),
      ...(rewardModel ? nestFiles('reward-model', rewardModelFiles(rewardModel)) : {}),
      'summary.json': `${JSON.stringify(summary, null, 2)}\n`,
    }, { replaces: ['policy', 'reward-model', 'summary.json'] });
    logger.log('info', 'round summary', { ...summary });
    out.push(summary);
    await options.onRound?.(summary);
  }
  return out;
}
