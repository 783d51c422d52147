/**
 * Option checks shared by the trainers: each throws {@link ConfigError} naming the option and value.
 * @internal
 * @module
 */
import { ConfigError } from '../errors';

/** Bounds for {@link checkNumber}. */
export interface NumberBounds {
  /** Strictly greater than. */
  gt?: number;
  /** Greater than or equal. */
  ge?: number;
  /** Less than or equal. */
  le?: number;
  /** Strictly less than. */
  lt?: number;
}

/** A finite number within bounds. */
export function checkNumber(name: string, v: unknown, b: NumberBounds = {}): number {
  const ok = typeof v === 'number' && Number.isFinite(v)
    && (b.gt === undefined || v > b.gt) && (b.ge === undefined || v >= b.ge)
    && (b.le === undefined || v <= b.le) && (b.lt === undefined || v < b.lt);
  if (!ok) {
    const parts = [b.gt !== undefined && `> ${b.gt}`, b.ge !== undefined && `>= ${b.ge}`, b.le !== undefined && `<= ${b.le}`, b.lt !== undefined && `< ${b.lt}`].filter(Boolean);
    throw new ConfigError(name, v, `must be a finite number${parts.length ? ` ${parts.join(' and ')}` : ''}`);
  }
  return v as number;
}

/** An integer >= min. */
export function checkInteger(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ConfigError(name, v, `must be an integer >= ${min}`);
  return v;
}
