/**
 * The two object helpers every reader and writer of JSON records uses: a shape test and a
 * `__proto__`-safe property write. One home for them (data, feedback, io, report and sft import them).
 * @internal
 * @module
 */

/**
 * Whether `v` is a JSON-style object (not null, not an array).
 * @internal
 */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Sets an own, enumerable data property (`defineProperty`: unlike `obj[key] = value`, a key
 * `"__proto__"` is stored, not swallowed).
 * @internal
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
