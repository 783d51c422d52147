/**
 * Whether a model's weights changed, without reading them: tfjs gives a variable a new data id on every
 * `assign` (and its data never changes in place), so the list of the variables' data ids identifies
 * their values. The worker pools use it to resend weights only after something reassigned them.
 * @internal
 * @module
 */
import type { tf } from '../tf';

/** The current data id of each variable, in order. */
export function dataVersions(vars: readonly tf.Variable[]): object[] {
  return vars.map((v) => (v as unknown as { dataId: object }).dataId);
}

/** Whether two {@link dataVersions} lists are the same (no variable reassigned in between). */
export function sameVersions(a: readonly object[] | undefined, b: readonly object[]): boolean {
  return a !== undefined && a.length === b.length && a.every((d, i) => d === b[i]);
}
