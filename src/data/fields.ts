/**
 * Field readers of the row validators: each reads one field of a parsed JSON row, or throws a
 * {@link FileFormatError} naming the file, the line, the field and the JSON type found.
 * @internal
 * @module
 */
import { FileFormatError, previewValue } from '../errors';
import { isRecord } from '../io/objects';
import type { RecordLocation } from './types';

export { isRecord };

/** The JSON type of a value: `"null"`, `"array"`, `"string"`, `"number"`, `"object"`, ... */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A short rendering of a value for error messages. */
function preview(v: unknown): string {
  return v === null || v === undefined ? '' : ` ${previewValue(v, 60)}`;
}

/**
 * `"found <type> <preview>"` for error messages.
 * @internal
 */
export function found(v: unknown): string {
  return `found ${kindOf(v)}${preview(v)}`;
}


/**
 * Whether `o` has its own property `key`.
 * @internal
 */
export function hasOwn(o: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/**
 * Throws a {@link FileFormatError} at `where` with `reason`.
 * @internal
 */
export function fail(where: RecordLocation, reason: string): never {
  throw new FileFormatError(where.file, reason, where.line);
}

function fieldList(fields: readonly string[]): string {
  return fields.map((f) => JSON.stringify(f)).join(', ');
}

/**
 * Checks that `obj` is a JSON object; `fields` are the fields the row kind needs.
 * @internal
 */
export function asObject(obj: unknown, where: RecordLocation, kind: string, fields: readonly string[]): Record<string, unknown> {
  if (!isRecord(obj)) {
    fail(where, `expected a JSON object with fields ${fieldList(fields)} (${kind} row), ${found(obj)}`);
  }
  return obj;
}

/**
 * Reads a required field, failing with the row kind's field list when it is missing.
 * @internal
 */
export function field(o: Record<string, unknown>, key: string, where: RecordLocation, kind: string, fields: readonly string[]): unknown {
  if (!hasOwn(o, key)) {
    fail(where, `missing field "${key}" (a ${kind} row needs ${fieldList(fields)})`);
  }
  return o[key];
}

/**
 * Reads a required string field.
 * @internal
 */
export function stringField(o: Record<string, unknown>, key: string, where: RecordLocation, kind: string, fields: readonly string[]): string {
  const v = field(o, key, where, kind, fields);
  if (typeof v !== 'string') fail(where, `field "${key}" must be a string, ${found(v)}`);
  return v;
}

/**
 * Reads a required array field.
 * @internal
 */
export function arrayField(o: Record<string, unknown>, key: string, where: RecordLocation, kind: string, fields: readonly string[]): unknown[] {
  const v = field(o, key, where, kind, fields);
  if (!Array.isArray(v)) fail(where, `field "${key}" must be an array, ${found(v)}`);
  return v;
}
