import { expect } from 'vitest';
import { tf } from '../../src/tf';

/** Options of {@link expectNoLeaks}. */
export interface ExpectNoLeaksOptions {
  /**
   * Tensors `fn` is allowed to leave alive on purpose (for example the tensors it returns, or
   * variables it creates and hands back). Default 0.
   */
  kept?: number;
}

/**
 * Runs `fn` and asserts that `tf.memory().numTensors` afterwards equals the count before plus
 * `opts.kept` (default 0): a tensor leak fails the test, and so does a tensor disposed twice or one
 * the code under test disposed although the caller owned it (the count then drops).
 *
 * `fn` may be synchronous or return a promise; for a promise the count is taken after it settles
 * (a rejected promise rethrows without checking, so a leak never hides the real error). Returns
 * whatever `fn` returned (awaited when it was a promise), so a test can keep asserting on it:
 *
 * ```ts
 * const stats = await expectNoLeaks(() => trainer.step(prompts));
 * const out = expectNoLeaks(() => gae(values, rewards, mask), { kept: 2 }); // two returned tensors
 * tf.dispose(out);
 * ```
 */
export function expectNoLeaks<T>(fn: () => Promise<T>, opts?: ExpectNoLeaksOptions): Promise<T>;
export function expectNoLeaks<T>(fn: () => T, opts?: ExpectNoLeaksOptions): T;
export function expectNoLeaks<T>(fn: () => T | Promise<T>, opts: ExpectNoLeaksOptions = {}): T | Promise<T> {
  const kept = opts.kept ?? 0;
  const before = tf.memory().numTensors;
  const check = (): void => {
    const after = tf.memory().numTensors;
    expect(after - before, `tensor count changed by ${after - before} (expected ${kept}): ${before} -> ${after}`).toBe(kept);
  };
  const result = fn();
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    return (result as Promise<T>).then((value) => {
      check();
      return value;
    });
  }
  check();
  return result;
}
