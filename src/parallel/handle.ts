/**
 * The main thread's side of one worker: waiting for one reply at a time, and turning a throw, an exit
 * or an uncaught error in the worker into a {@link WorkerError} instead of a hang. The worker itself is
 * a {@link Channel} (./channel: a Node worker thread, unref'd so that a process that forgets `dispose()`
 * still exits, or a browser's Web Worker).
 * @internal
 * @module
 */
import { WorkerError } from '../errors';
import type { Channel } from './channel';
import type { FromWorker, ToWorker } from './protocol';

/**
 * How long a worker may take from its start to its `ready` message (loading its bundle and the wasm
 * binaries, building its replica) before it counts as failed: 2 minutes.
 */
export const WORKER_START_TIMEOUT_MS = 120_000;

/** A message a worker sends: typed, with an error variant and optionally the generation it answers. */
export type WorkerReply = { type: string; gen?: number } | { type: 'error'; name: string; message: string; stack: string };

interface Waiting<Out> {
  want: string;
  gen: number | undefined;
  resolve(m: Out): void;
  reject(e: WorkerError): void;
}

/**
 * One worker seen from the main thread; `In` are the messages it takes, `Out` those it sends (the
 * replica protocol of ./protocol by default).
 */
export class WorkerHandle<In = ToWorker, Out extends WorkerReply = FromWorker> {
  /** The first failure seen (an exit, an uncaught error, or a reported throw); then the handle is dead. */
  failure: WorkerError | undefined;
  private waiting: Waiting<Out> | undefined;
  private closing = false;

  constructor(readonly index: number, private readonly worker: Channel) {
    worker.unref();
    worker.listen({
      message: (m) => this.onMessage(m as Out),
      error: (name, message, stack) => this.fail(new WorkerError(index, 'error', `${name}: ${message}`, stack)),
      exit: (code) => {
        if (!this.closing) this.fail(new WorkerError(index, 'exit', `the worker exited with code ${code}`));
      },
    });
  }

  /** Sends a message (no reply awaited); `transfer` moves those buffers instead of copying them. */
  post(m: In, transfer?: readonly ArrayBuffer[]): void {
    this.worker.post(m, transfer);
  }

  /**
   * Resolves with the next message of type `want` (for generation `gen` if given); rejects with the
   * worker's failure. While waiting the worker is ref'd, so the process stays up for the reply.
   */
  expect<W extends Out['type']>(want: W, gen?: number): Promise<Extract<Out, { type: W }>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.worker.ref();
    return new Promise<Extract<Out, { type: W }>>((resolve, reject) => {
      this.waiting = { want, gen, resolve: resolve as (m: Out) => void, reject };
    }).finally(() => {
      this.waiting = undefined;
      this.worker.unref();
    });
  }

  /**
   * Resolves when the worker reports `ready`. A worker that fails first rejects with its failure; one
   * silent for `timeoutMs` fails with a {@link WorkerError} (`'timeout'`) instead of hanging the caller.
   */
  async ready(timeoutMs = WORKER_START_TIMEOUT_MS): Promise<void> {
    const timer = setTimeout(() => this.fail(new WorkerError(this.index, 'timeout', `no ready message within ${timeoutMs / 1000} s of starting`)), timeoutMs);
    try {
      await this.expect('ready' as Out['type']);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the worker. */
  async terminate(): Promise<void> {
    this.closing = true;
    this.waiting?.reject(this.failure ?? new WorkerError(this.index, 'exit', 'the worker pool was shut down'));
    await this.worker.terminate();
  }

  private onMessage(m: Out): void {
    if (m.type === 'error') {
      const e = m as Extract<WorkerReply, { type: 'error' }>;
      this.fail(new WorkerError(this.index, 'error', `${e.name}: ${e.message}`, e.stack));
      return;
    }
    const w = this.waiting;
    if (w === undefined || w.want !== m.type) return;
    if (w.gen !== undefined && 'gen' in m && m.gen !== w.gen) return;
    w.resolve(m);
  }

  private fail(e: WorkerError): void {
    this.failure ??= e;
    this.waiting?.reject(this.failure);
  }
}
