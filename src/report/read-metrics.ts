/**
 * Reading a metrics log (the JSON Lines file {@link metricsLogger} writes) back into per-kind series
 * and sample batches, streaming line by line.
 * @module
 */
import { FileFormatError } from '../errors';
import { readJsonl, type JsonlSource, type ReadJsonlOptions } from '../data/jsonl';
import type { RecordLocation } from '../data/types';
import { restoreNonFinite } from './json-safe';
import { SAMPLES_MESSAGE } from './metrics-logger';
import type { MetricRecord, MetricsHistory, SampleRow, SamplesRecord } from './types';

function fail(where: RecordLocation, reason: string): never {
  throw new FileFormatError(where.file, reason, where.line);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkOptionalNumber(obj: Record<string, unknown>, key: string, at: string, where: RecordLocation): void {
  const v = obj[key];
  if (v !== undefined && v !== null && typeof v !== 'number') fail(where, `${at}"${key}" must be a number or null, got ${JSON.stringify(v)}`);
}

function parseSampleRows(rows: unknown, where: RecordLocation): SampleRow[] {
  if (!Array.isArray(rows)) fail(where, 'a "samples" record needs a "rows" array');
  rows.forEach((row: unknown, i) => {
    if (!isObject(row)) fail(where, `rows[${i}] must be an object`);
    for (const key of ['prompt', 'response']) {
      if (typeof row[key] !== 'string') fail(where, `rows[${i}]."${key}" must be a string`);
    }
    checkOptionalNumber(row, 'score', `rows[${i}].`, where);
    checkOptionalNumber(row, 'kl', `rows[${i}].`, where);
  });
  return rows as SampleRow[];
}

/**
 * Validates one parsed metrics line: an object with a non-empty string `kind`, an optional string
 * `time` and an optional numeric `step`; a `"samples"` record also needs `rows` of
 * `{ prompt, response, score?, kl? }`. Keys listed in a `"nonFinite"` field are restored to `NaN`.
 * @param obj - The parsed JSON value.
 * @param where - Its location, for errors.
 * @returns The record.
 * @throws A {@link FileFormatError} naming `file:line` when the value is not a valid record.
 */
export function parseMetricsRecord(obj: unknown, where: RecordLocation): MetricRecord | SamplesRecord {
  if (!isObject(obj)) fail(where, 'a metrics record must be a JSON object');
  restoreNonFinite(obj);
  const { kind, time } = obj;
  if (typeof kind !== 'string' || kind === '') fail(where, 'a metrics record needs a non-empty string "kind"');
  if (time !== undefined && typeof time !== 'string') fail(where, '"time" must be an ISO-8601 string');
  checkOptionalNumber(obj, 'step', '', where);
  if (kind === SAMPLES_MESSAGE) parseSampleRows(obj.rows, where);
  return obj as MetricRecord | SamplesRecord;
}

/**
 * Reads a metrics log into per-kind series and sample batches. The file is read as a stream (one
 * line in memory at a time), with the line rules of `readJsonl`: blank lines are skipped, every other
 * line must be a valid record (see {@link parseMetricsRecord}). The result holds every record.
 * @param source - A Node.js file path, or a stream of chunks (see `readJsonl`).
 * @param options - Name for errors and line-length limit (see `ReadJsonlOptions`).
 * @returns `series[kind]` with the records of each kind in file order, and `samples` in file order.
 * @throws A {@link FileFormatError} naming `file:line` for invalid JSON or an invalid record; the
 *   Node.js error (e.g. `ENOENT`) when the file cannot be read.
 */
export async function readMetrics(source: JsonlSource, options: ReadJsonlOptions = {}): Promise<MetricsHistory> {
  // No prototype: a kind is any string, "__proto__" included.
  const history: MetricsHistory = { series: Object.create(null) as MetricsHistory['series'], samples: [] };
  for await (const record of readJsonl(source, parseMetricsRecord, options)) {
    if (record.kind === SAMPLES_MESSAGE) {
      history.samples.push(record as SamplesRecord);
    } else {
      (history.series[record.kind] ??= []).push(record);
    }
  }
  return history;
}
