/**
 * The main thread's side of one replica worker: spawning it (unref'd, so a process that forgets
 * `dispose()` still exits), waiting for one reply at a time, and turning a throw, an exit or an
 * uncaught error in the worker into a {@link WorkerError} instead of a hang.
 * @internal
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { WorkerError } from '../errors';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';

type Want = FromWorker['type'];

interface Waiting {
  want: Want;
  gen: number | undefined;
  resolve(m: FromWorker): void;
  reject(e: WorkerError): void;
}

/** One replica worker seen from the main thread. */
export class WorkerHandle {
  /** The first failure seen (an exit, an uncaught error, or a reported throw); then the handle is dead. */
  failure: WorkerError | undefined;
  private waiting: Waiting | undefined;
  private closing = false;

  private constructor(readonly index: number, private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e: Error) => this.fail(new WorkerError(index, 'error', `${e.name}: ${e.message}`, e.stack)));
    worker.on('exit', (code: number) => {
      if (!this.closing) this.fail(new WorkerError(index, 'exit', `the worker thread exited with code ${code}`));
    });
  }

  /** Spawns the worker for replica `init.index` from the bundled entry at `url`. */
  static async spawn(url: URL, init: WorkerInit): Promise<WorkerHandle> {
    const { Worker: W } = await import('node:worker_threads');
    // No inherited execArgv: the parent's flags (--input-type, -e, a TypeScript loader...) are for its
    // own entry, and some of them stop a worker from starting at all.
    return new WorkerHandle(init.index, new W(url, { workerData: init, execArgv: [] }));
  }

  /** Sends a message (no reply awaited). */
  post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  /**
   * Resolves with the next message of type `want` (for generation `gen` if given); rejects with the
   * worker's failure. While waiting the worker is ref'd, so the process stays up for the reply.
   */
  expect(want: Want, gen?: number): Promise<FromWorker> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.worker.ref();
    return new Promise<FromWorker>((resolve, reject) => {
      this.waiting = { want, gen, resolve, reject };
    }).finally(() => {
      this.waiting = undefined;
      this.worker.unref();
    });
  }

  /** Ends the worker thread. */
  async terminate(): Promise<void> {
    this.closing = true;
    this.waiting?.reject(this.failure ?? new WorkerError(this.index, 'exit', 'the worker pool was shut down'));
    await this.worker.terminate();
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'error') {
      this.fail(new WorkerError(this.index, 'error', `${m.name}: ${m.message}`, m.stack));
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
