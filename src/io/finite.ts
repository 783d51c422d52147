/**
 * Rejects non-finite (NaN, ±Infinity) values in tensors read from a file, so they never reach the
 * weights. One pass over each array.
 * @module
 */
import { FileFormatError } from '../errors';
import type { NamedTensorData } from './safetensors';

/** Index of the first non-finite value of `data`, or -1. @internal */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const x = data[i] as number;
    if (x - x !== 0) return i; // NaN - NaN and Inf - Inf are NaN; finite - itself is 0
  }
  return -1;
}

/**
 * Throws a {@link FileFormatError} naming the file, the tensor and the first bad index when a float
 * tensor holds NaN or ±Infinity.
 * @param tensors - Tensors by name (integer tensors are skipped).
 * @param file - Where they were read from.
 */
export function checkFiniteTensors(tensors: Iterable<[string, NamedTensorData]>, file: string): void {
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32') continue;
    const i = firstNonFinite(t.data);
    if (i >= 0) {
      throw new FileFormatError(file, `tensor ${JSON.stringify(name.slice(0, 200))} holds ${t.data[i]} at flat index ${i}: non-finite weights are not loaded`);
    }
  }
}
