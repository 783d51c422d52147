/**
 * The one home of the option checks every unit uses (trainers, optimizer, functional RL core,
 * generation, pipeline, servers): each returns the checked value or throws {@link ConfigError} naming
 * the option and the value it got. Use these rather than writing a local checker.
 * @internal
 * @module
 */
import { ConfigError } from '../errors';

/** Bounds of {@link checkNumber}; each one is optional. @internal */
export interface NumberBounds {
  /** The value must be strictly greater than this. */
  gt?: number;
  /** The value must be greater than or equal to this. */
  ge?: number;
  /** The value must be less than or equal to this. */
  le?: number;
  /** The value must be strictly less than this. */
  lt?: number;
}

function describe(b: NumberBounds): string {
  const parts = [
    b.gt !== undefined && `> ${b.gt}`,
    b.ge !== undefined && `>= ${b.ge}`,
    b.lt !== undefined && `< ${b.lt}`,
    b.le !== undefined && `<= ${b.le}`,
  ].filter(Boolean);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

/**
 * `v` if it is a finite number within the bounds, else throws {@link ConfigError}
 * (`"<name> = <v>: must be a finite number > 0 and <= 1"`).
 * @param name - option name used in the error, e.g. `"PPOTrainerOptions.clipRange"`.
 * @param v - the value to check.
 * @param b - the bounds; default none (any finite number).
 * @internal
 */
export function checkNumber(name: string, v: unknown, b: NumberBounds = {}): number {
  const ok = typeof v === 'number' && Number.isFinite(v)
    && (b.gt === undefined || v > b.gt) && (b.ge === undefined || v >= b.ge)
    && (b.lt === undefined || v < b.lt) && (b.le === undefined || v <= b.le);
  if (!ok) throw new ConfigError(name, v, `must be a finite number${describe(b)}`);
  return v as number;
}

/**
 * `v` if it is a safe integer `>= min` (and `<= max` when given), else throws {@link ConfigError}.
 * @param name - option name used in the error.
 * @param v - the value to check.
 * @param min - smallest allowed value.
 * @param max - largest allowed value; default none.
 * @internal
 */
export function checkInteger(name: string, v: unknown, min: number, max?: number): number {
  const ok = typeof v === 'number' && Number.isSafeInteger(v) && v >= min && (max === undefined || v <= max);
  if (!ok) throw new ConfigError(name, v, max === undefined ? `must be an integer >= ${min}` : `must be an integer in [${min}, ${max}]`);
  return v as number;
}

/**
 * `v` if it is a valid seed: any safe integer (negative ones included), else throws
 * {@link ConfigError}. Every unit that takes a seed checks it with this, so they all accept the same.
 * @param name - option name used in the error.
 * @param v - the value to check.
 * @internal
 */
export function checkSeed(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ConfigError(name, v, 'must be a safe integer');
  return v;
}

/**
 * `v` if it is a boolean, else throws {@link ConfigError}.
 * @param name - option name used in the error.
 * @param v - the value to check.
 * @internal
 */
export function checkBoolean(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(name, v, 'must be true or false');
  return v;
}

/**
 * `v` if it is one of `allowed`, else throws {@link ConfigError} listing them.
 * @param name - option name used in the error.
 * @param v - the value to check.
 * @param allowed - the accepted values.
 * @internal
 */
export function checkOneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(v)) {
    const list = allowed.map((a) => `'${a}'`);
    const text = list.length <= 2 ? list.join(' or ') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
    throw new ConfigError(name, v, `must be ${text}`);
  }
  return v as T;
}

/**
 * `v` if it is a function, else throws {@link ConfigError}.
 * @param name - option name used in the error.
 * @param v - the value to check.
 * @param signature - what the function looks like, for the message, e.g. `"(done, total) => void"`.
 * @internal
 */
export function checkFunction<F>(name: string, v: unknown, signature: string): F {
  if (typeof v !== 'function') throw new ConfigError(name, v, `must be a function ${signature}`);
  return v as F;
}

/**
 * `v` as a fresh array if it is an array of token ids in `[0, vocabSize)`, else throws
 * {@link ConfigError} naming the array (`name`) or the entry (`name[i]`).
 * @param name - option name used in the error.
 * @param v - the value to check.
 * @param vocabSize - number of token ids.
 * @internal
 */
export function checkTokenIds(name: string, v: unknown, vocabSize: number): number[] {
  if (!Array.isArray(v)) throw new ConfigError(name, v, 'must be an array of token ids');
  return v.map((t: unknown, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new ConfigError(`${name}[${i}]`, t, `must be a token id in [0, ${vocabSize})`);
    }
    return t;
  });
}
