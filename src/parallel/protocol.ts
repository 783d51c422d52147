/**
 * Messages between the main thread and a replica worker. Gradients never travel in them (they go
 * through the shared buffer, see ./layout); weights travel once, when a worker starts or resyncs.
 * @internal
 * @module
 */
import type { AdamWOptions, AdamWState } from '../optim/adamw';
import type { ResolvedTransformerConfig } from '../models/config';
import type { ShardTask } from './tasks';

/** AdamW hyperparameters that cross to a worker (a decay mask as flags, not a function). */
export type ReplicaOptimizerOptions = Omit<AdamWOptions, 'decayMask'> & {
  /** Whether weight decay applies to each variable, in variable order. */
  decayFlags: boolean[];
};

/** Weights and optimizer state, as copies. */
export interface ReplicaState {
  /** Variable names, in order (checked against the worker's own model). */
  names: string[];
  /** Variable shapes, same order. */
  shapes: number[][];
  /** Variable values, same order. */
  values: Float32Array[];
  /** The optimizer's step and moments. */
  optimizer: AdamWState;
}

/** What a worker is started with (its `workerData`). */
export interface WorkerInit {
  /** The shared buffer of ./layout. */
  shared: SharedArrayBuffer;
  /** This worker's replica index (>= 1; the main thread is 0). */
  index: number;
  /** Total replicas, main thread included. */
  replicas: number;
  /** Scalars per gradient. */
  params: number;
  /** What the replica is: a policy or a reward model. */
  modelKind: 'policy' | 'reward';
  /** The model's resolved config. */
  config: ResolvedTransformerConfig;
  /** Optimizer hyperparameters. */
  optimizer: ReplicaOptimizerOptions;
  /** Initial weights and optimizer state. */
  state: ReplicaState;
}

/** Main thread to worker. */
export type ToWorker =
  | { type: 'step'; gen: number; task: ShardTask; checksum: boolean }
  | { type: 'sync'; state: ReplicaState }
  | { type: 'stats' }
  | { type: 'crash'; how: 'throw' | 'exit' };

/** Memory of one worker. */
export interface WorkerMemory {
  /** Live tensors in the worker's engine (`tf.memory().numTensors`). */
  numTensors: number;
  /** Bytes of the worker's JavaScript heap in use. */
  heapUsedBytes: number;
  /** Bytes held by the backend (the wasm heap for wasm). */
  backendBytes: number;
}

/** Worker to main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'grads'; gen: number; metrics: Record<string, number[]> }
  | { type: 'applied'; gen: number; checksum: number | null }
  | { type: 'aborted'; gen: number }
  | { type: 'synced' }
  | { type: 'stats'; memory: WorkerMemory }
  | { type: 'error'; name: string; message: string; stack: string };
