/**
 * The policy server's request queue: one completion at a time, in arrival order, with a cap on how
 * many may wait.
 * @internal
 * @module
 */
import { ApiError } from '../http/local-server';

/** Runs tasks one at a time, in the order they were queued; refuses (503) past `maxWaiting` waiting tasks. */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /** @param maxWaiting - Most tasks that may wait behind the running one. */
  constructor(readonly maxWaiting: number = Number.POSITIVE_INFINITY) {}

  /** Tasks queued or running. */
  get size(): number {
    return this.waiting;
  }

  /**
   * Queues `task`; resolves or rejects with its outcome once it has run.
   * @throws {@link ApiError} 503 with `Retry-After` (synchronously) when `maxWaiting` tasks already wait.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.waiting > this.maxWaiting) {
      throw new ApiError(503, `the server is busy (${this.waiting - 1} requests waiting); retry later`, 'server_error', null, 'queue_full', { 'Retry-After': '1' });
    }
    this.waiting++;
    const result = this.tail.then(task).finally(() => { this.waiting--; });
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}
