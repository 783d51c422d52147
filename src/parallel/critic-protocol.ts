/**
 * Messages between a `PPOTrainer` and its critic worker (./critic-worker): the thread that holds the
 * separate critic (value model), its part of the AdamW state and the reward model, so that PPO's
 * critic and reward forward passes and the critic's half of every update run beside the policy's.
 * Weights cross when the worker starts, when the main thread's copy changed (`sync`) and after each
 * update (`export`); per minibatch only rows, targets and a few numbers do.
 * @internal
 * @module
 */
import type { AdamWState } from '../optim/adamw';
import type { PaddedBatch } from '../models/batch';
import type { WorkerMemory } from './protocol';

/** AdamW hyperparameters of the critic's variables (as the trainer's optimizer has them). */
export interface CriticOptimizerOptions {
  /** Default learning rate. */
  learningRate: number;
  /** Adam epsilon. */
  epsilon: number;
  /** Where epsilon is added. */
  epsilonPlacement: 'pytorch' | 'tf1';
  /** Decoupled weight decay. */
  weightDecay: number;
  /** Whether weight decay applies to each critic variable, in order. */
  decayFlags: boolean[];
}

/** What the worker is started with (its `workerData`). */
export interface CriticInit {
  /** The critic, as `RewardModel.toSafetensors()` bytes. */
  critic: Uint8Array;
  /** The reward model, as `RewardModel.toSafetensors()` bytes; absent for a reward function. */
  reward?: Uint8Array;
  /** Optimizer hyperparameters of the critic's variables. */
  optimizer: CriticOptimizerOptions;
  /** The critic's optimizer state (the trainer optimizer's critic range). */
  state: AdamWState;
}

/** The critic's half of one PPO minibatch: the clipped value loss times `vfCoef`. */
export interface CriticTask {
  /** The minibatch rows `[n, P + R]`. */
  batch: PaddedBatch;
  /** First response column. */
  P: number;
  /** Response columns. */
  R: number;
  /** `[n * R]` response mask. */
  mask: Float32Array;
  /** `[n * R]` values at rollout time. */
  oldValues: Float32Array;
  /** `[n * R]` value targets. */
  returns: Float32Array;
  /** Value clip range. */
  clipRangeValue: number;
  /** Weight of the value loss in the PPO loss. */
  vfCoef: number;
}

/** Rows to evaluate at rollout time: values on each chunk and, with a reward model, the scores. */
export interface EvaluateTask {
  /** The epoch-1 minibatches' rows, each `[n, P + R]`. */
  chunks: PaddedBatch[];
  /** First response column. */
  P: number;
  /** Response columns. */
  R: number;
  /** Prompt and response ids to score (EOS already appended where the trainer does); absent: no scoring. */
  score?: { promptIds: number[][]; responseIds: number[][] };
}

/** Main thread to the critic worker. */
export type ToCritic =
  | { type: 'sync'; weights: Float32Array[]; state: AdamWState }
  | { type: 'evaluate'; gen: number; task: EvaluateTask }
  | { type: 'grad'; gen: number; task: CriticTask }
  | { type: 'decide'; gen: number; go: boolean; scale: number; learningRate: number }
  | { type: 'export' }
  | { type: 'stats' }
  | { type: 'crash'; how: 'throw' | 'exit' };

/** The critic worker to the main thread. */
export type FromCritic =
  | { type: 'ready' }
  | { type: 'synced' }
  | { type: 'evaluated'; gen: number; values: Float32Array[]; scores: number[] | null }
  | { type: 'grads'; gen: number; sumSquares: number; valueLoss: number; valueClipFrac: number }
  | { type: 'state'; weights: Float32Array[]; state: AdamWState }
  | { type: 'stats'; memory: WorkerMemory }
  | { type: 'error'; name: string; message: string; stack: string };
