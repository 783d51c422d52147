/**
 * Messages between a policy and its generation workers (./gen-worker): each holds a replica of the
 * policy and decodes a shard of a batch's rows, drawing from the shared stream through ./lockstep.
 * Weights cross when a worker starts and when the policy's variables were reassigned since.
 * @internal
 * @module
 */
import type { GenerateResult, ResolvedGenerateOptions } from '../generation/generate';
import type { WorkerMemory } from './protocol';

/** What a generation worker is started with (its `workerData`). */
export interface GenInit {
  /** The policy, as `TransformerPolicy.toSafetensors()` bytes. */
  policy: Uint8Array;
  /** This worker's number (>= 1), for errors. */
  index: number;
}

/** The options that cross (no functions: no progress callback, no tools, no tokenizer). */
export type PlainGenerateOptions = Omit<ResolvedGenerateOptions, 'onToken' | 'tools' | 'tokenizer'>;

/** One shard of a generation. */
export interface GenShard {
  /** The shard's prompts. */
  prompts: number[][];
  /** Resolved options. */
  options: PlainGenerateOptions;
  /** The lockstep buffer of ./lockstep. */
  lockstep: SharedArrayBuffer;
  /** This shard's index (0 = the main thread). */
  shard: number;
  /** Shards in all. */
  shards: number;
  /** The stream's state before the call's first draw. */
  s0: number;
}

/** Main thread to a generation worker. */
export type ToGen =
  | { type: 'sync'; weights: Float32Array[] }
  | { type: 'generate'; gen: number; shard: GenShard }
  | { type: 'stats' }
  | { type: 'crash'; how: 'throw' | 'exit' };

/** A generation worker to the main thread. */
export type FromGen =
  | { type: 'ready' }
  | { type: 'synced' }
  | { type: 'generated'; gen: number; result: GenerateResult }
  | { type: 'stats'; memory: WorkerMemory }
  | { type: 'error'; name: string; message: string; stack: string };
