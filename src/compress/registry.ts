/**
 * Where a model's compressed stored form lives: a weak map from a weight tensor (a `tf.Variable` of a
 * model, or a value about to become one) to its int8 form. Models keep computing with float32 (tfjs-core
 * has no int8 matmul); checkpoints write the int8 form while the weights still equal it.
 * @internal
 * @module
 */
import type { QuantizedMatrix } from './int8';

const quantized = new WeakMap<object, QuantizedMatrix>();

/** Records that `tensor` holds the dequantized values of `m`. */
export function setQuantized(tensor: object, m: QuantizedMatrix): void {
  quantized.set(tensor, m);
}

/** The int8 form recorded for `tensor`, if any. */
export function getQuantized(tensor: object): QuantizedMatrix | undefined {
  return quantized.get(tensor);
}

/** Forgets the int8 form of `tensor` (e.g. after it was trained further). */
export function clearQuantized(tensor: object): void {
  quantized.delete(tensor);
}

/** Carries the int8 form of `from` (if any) over to `to`, e.g. from a loaded value to the variable made of it. */
export function inheritQuantized(from: object | undefined, to: object): void {
  const m = from === undefined ? undefined : quantized.get(from);
  if (m !== undefined) quantized.set(to, m);
}
