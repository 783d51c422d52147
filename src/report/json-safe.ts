/**
 * Internal: the JSON form of metrics records. JSON has no `NaN` or `Infinity`, so a non-finite number
 * is written as `null` and, when it is the value of an object key, that key is listed in the
 * object's `"nonFinite"` array; reading restores those keys to `NaN`.
 * @internal
 * @module
 */
import { setOwn } from '../io/objects';

/** Name of the field listing an object's keys whose values were non-finite numbers. */
export const NON_FINITE_FIELD = 'nonFinite';


function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function safeValue(v: unknown, seen: Set<object>): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (typeof v !== 'object') return undefined; // undefined, functions, symbols: dropped, as JSON does
  if (seen.has(v)) return null; // a cycle
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return safeValue(Array.from(v as unknown as ArrayLike<unknown>), seen);
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return safeValue((toJSON as () => unknown).call(v), seen);
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => safeValue(x, seen) ?? null);
    return safeObject(isPlainObject(v) ? v : { ...v }, seen);
  } finally {
    seen.delete(v);
  }
}

function safeObject(obj: Record<string, unknown>, seen: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const nonFinite: string[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (key === NON_FINITE_FIELD) continue;
    if (typeof value === 'number' && !Number.isFinite(value)) nonFinite.push(key);
    const s = safeValue(value, seen);
    if (s !== undefined) setOwn(out, key, s);
  }
  if (nonFinite.length > 0) out[NON_FINITE_FIELD] = nonFinite;
  return out;
}

/**
 * Converts a value to a JSON-safe copy: non-finite numbers become `null` (and are listed in their
 * object's `"nonFinite"` field), typed arrays become arrays, `bigint`s become numbers, cycles become
 * `null`, and `undefined`, functions and symbols are dropped. A `"nonFinite"` field already in the
 * data is replaced. Never throws for plain data.
 * @param obj - A record, e.g. a trainer's stats.
 * @returns A copy that `JSON.stringify` writes without loss of meaning.
 * @internal
 */
export function toJsonSafe(obj: Record<string, unknown>): Record<string, unknown> {
  return safeObject(obj, new Set());
}

/**
 * Undoes {@link toJsonSafe} on parsed JSON, in place: in every object with a `"nonFinite"` array of
 * strings, those keys are set to `NaN` and the `"nonFinite"` field is removed.
 * @param v - A parsed JSON value.
 * @returns The same value.
 * @internal
 */
export function restoreNonFinite<T>(v: T): T {
  if (Array.isArray(v)) {
    for (const x of v) restoreNonFinite(x);
  } else if (typeof v === 'object' && v !== null) {
    const obj = v as Record<string, unknown>;
    for (const value of Object.values(obj)) restoreNonFinite(value);
    const keys = obj[NON_FINITE_FIELD];
    if (Array.isArray(keys) && keys.every((k) => typeof k === 'string')) {
      for (const k of keys as string[]) setOwn(obj, k, NaN);
      delete obj[NON_FINITE_FIELD];
    }
  }
  return v;
}
