/**
 * Streaming JSON Lines reading: one record per line, read chunk by chunk so a file is never held in
 * memory whole. Works on a Node.js file path (`node:fs` is imported lazily, so importing this module
 * is harmless in a browser bundle) or on any stream of chunks (`fetch(url).body`, a `File`'s
 * `stream()`, an async generator of strings).
 *
 * Line rules, applied identically to every source:
 * - Lines end at `\n`; a `\r` just before it is dropped (CRLF files). A lone `\r` does not end a line.
 * - The last line may or may not end with a newline.
 * - A UTF-8 byte order mark (U+FEFF) at the very start is skipped.
 * - Blank lines (empty, or only spaces, tabs and `\r`) are skipped: they are not data rows. They are
 *   still counted, so line numbers in errors match what an editor shows.
 * - Bytes are decoded per line, so a multi-byte UTF-8 character split across chunks is read intact;
 *   bytes that are not valid UTF-8 are an error naming the line, never silently replaced.
 * - Every other line must be one JSON value that the `parse` function accepts; anything else throws a
 *   {@link FileFormatError} naming `file:line`. No row is ever skipped silently.
 * @module
 */
import { ConfigError, FileFormatError, InputError } from '../errors';
import type { ChatExample, PreferencePair, RankingExample, RecordLocation, SFTExample } from './types';
import { chunksOf, isAsyncIterable, isReadableStream, linesOf, type JsonlSource } from './lines';
import { parseChat, parsePair, parseRanking, parseSFT, type ParseRankingOptions } from './validate';
import { parseChatRanking } from './chat-ranking';

export type { JsonlSource } from './lines';

/** Turns one parsed JSON value into a record, or throws; `where` locates it for error messages. */
export type RecordParser<T> = (obj: unknown, where: RecordLocation) => T;

/** Options for {@link readJsonl} and the typed readers built on it. */
export interface ReadJsonlOptions {
  /** Name of the source in error messages. Default: the path for a path source, else `"<stream>"`. */
  name?: string;
  /**
   * Longest accepted line, in bytes (characters for string chunks), guarding against a file that is
   * not line-oriented at all. Default: `67_108_864` (64 MiB).
   */
  maxLineLength?: number;
}

/** Options for {@link readRankings}: the JSONL options plus the ranking validator's. */
export interface ReadRankingsOptions extends ReadJsonlOptions, ParseRankingOptions {}

const DEFAULT_MAX_LINE_LENGTH = 64 * 1024 * 1024;
const BLANK = /^[ \t\r]*$/;

function checkOptions(options: ReadJsonlOptions): { maxLen: number } {
  const maxLen = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  if (typeof maxLen !== 'number' || !(maxLen >= 1) || (!Number.isInteger(maxLen) && maxLen !== Infinity)) {
    throw new ConfigError('maxLineLength', maxLen, 'must be a positive integer (or Infinity)');
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new ConfigError('name', options.name, 'must be a string');
  }
  return { maxLen };
}

/**
 * `parse(obj)`, with a stack overflow (a line of thousands of nested arrays, which `JSON.parse` reads
 * but a recursive check cannot) reported as a {@link FileFormatError} at the line, not a bare `RangeError`.
 */
function parseRecord<T>(parse: RecordParser<T>, obj: unknown, file: string, line: number): T {
  try {
    return parse(obj, { file, line });
  } catch (e) {
    if (e instanceof RangeError) throw new FileFormatError(file, `record could not be checked (${e.message}); is it nested too deeply?`, line);
    throw e;
  }
}

async function* records<T>(source: JsonlSource, parse: RecordParser<T>, file: string, maxLen: number): AsyncGenerator<T> {
  for await (const { text, line } of linesOf(chunksOf(source), file, maxLen)) {
    let s = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (s.endsWith('\r')) s = s.slice(0, -1);
    if (BLANK.test(s)) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(s);
    } catch (e) {
      throw new FileFormatError(file, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`, line);
    }
    yield parseRecord(parse, obj, file, line);
  }
}

/**
 * Reads JSON Lines lazily, one record per non-blank line (see the module notes for the line rules).
 * Only the line being read is held in memory. Iterating twice over a path source reads the file
 * twice; a stream source can be iterated only once (a second iteration throws an
 * {@link InputError} rather than silently yielding nothing).
 * @param source - A Node.js file path, an async iterable of string or `Uint8Array` chunks, or a
 *   `ReadableStream<Uint8Array>`.
 * @param parse - Validates each parsed JSON value, e.g. {@link parseSFT}; it receives the line's
 *   location and should throw a {@link FileFormatError} there when the value is invalid.
 * @param options - See {@link ReadJsonlOptions}.
 * @returns The records in file order.
 * @throws A {@link ConfigError} at once for invalid options; an {@link InputError} when `source` is
 *   none of the accepted kinds.
 * @throws While iterating: a {@link FileFormatError} naming `file:line` for invalid JSON, invalid
 *   UTF-8, an over-long line or a record `parse` rejects; the Node.js error (e.g. `ENOENT`) when the
 *   file cannot be read; an {@link InputError} for a chunk that is neither string nor `Uint8Array`.
 */
export function readJsonl<T>(source: JsonlSource, parse: RecordParser<T>, options: ReadJsonlOptions = {}): AsyncIterable<T> {
  const { maxLen } = checkOptions(options);
  if (typeof source !== 'string' && !isReadableStream(source) && !isAsyncIterable(source)) {
    throw new InputError('source', source, 'must be a file path, an AsyncIterable of string/Uint8Array chunks, or a ReadableStream');
  }
  if (typeof parse !== 'function') throw new InputError('parse', parse, 'must be a function');
  const file = options.name ?? (typeof source === 'string' ? source : '<stream>');
  let started = false;
  return {
    [Symbol.asyncIterator]: () => {
      if (started && typeof source !== 'string') {
        throw new InputError('source', file, 'is a stream, which can be read only once; pass a file path to read it again');
      }
      started = true;
      return records(source, parse, file, maxLen);
    },
  };
}

/**
 * Reads SFT rows `{ "prompt", "completion" }` (see {@link parseSFT}) from JSONL.
 * @param source - See {@link readJsonl}.
 * @param options - See {@link ReadJsonlOptions}.
 * @returns The examples in file order; iteration throws a {@link FileFormatError} at the first bad row.
 */
export function readSFT(source: JsonlSource, options: ReadJsonlOptions = {}): AsyncIterable<SFTExample> {
  return readJsonl(source, parseSFT, options);
}

/**
 * Reads preference rows `{ "prompt", "chosen", "rejected" }` (see {@link parsePair}) from JSONL.
 * @param source - See {@link readJsonl}.
 * @param options - See {@link ReadJsonlOptions}.
 * @returns The pairs in file order; iteration throws a {@link FileFormatError} at the first bad row.
 */
export function readPairs(source: JsonlSource, options: ReadJsonlOptions = {}): AsyncIterable<PreferencePair> {
  return readJsonl(source, parsePair, options);
}

/**
 * Reads K-way ranking rows `{ "prompt", "responses", "ranking" }` (see {@link parseRanking}) and
 * conversation rows `{ "messages", "responses", "ranking" }` (see {@link parseChatRanking}) from
 * JSONL, mixed in any order. Expand them with `preferencePairsFromRanking` (a conversation row's
 * pairs carry its rendered `prompt`), or train a reward model on them directly.
 * @param source - See {@link readJsonl}.
 * @param options - See {@link ReadRankingsOptions}.
 * @returns The rankings in file order; iteration throws a {@link FileFormatError} at the first bad row.
 * @throws A {@link ConfigError} at once when `allowTies` is not a boolean.
 */
export function readRankings(source: JsonlSource, options: ReadRankingsOptions = {}): AsyncIterable<RankingExample> {
  const allowTies = options.allowTies ?? true;
  if (typeof allowTies !== 'boolean') throw new ConfigError('allowTies', allowTies, 'must be a boolean');
  return readJsonl(source, (obj, where) => parseChatRanking(obj, where, { allowTies }), options);
}

/**
 * Reads chat rows `{ "messages": [{ "role", "content" }, ...] }` (see {@link parseChat}) from JSONL.
 * @param source - See {@link readJsonl}.
 * @param options - See {@link ReadJsonlOptions}.
 * @returns The conversations in file order; iteration throws a {@link FileFormatError} at the first
 *   bad row.
 */
export function readChat(source: JsonlSource, options: ReadJsonlOptions = {}): AsyncIterable<ChatExample> {
  return readJsonl(source, parseChat, options);
}

/**
 * Collects an async iterable into an array. This holds every record in memory: fine for datasets
 * that fit, otherwise iterate with `for await` instead.
 * @param iterable - E.g. the result of {@link readSFT}.
 * @returns All items in order.
 */
export async function readAll<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/**
 * Serialises one record as a JSONL line: `JSON.stringify(record) + '\n'`. The JSON never contains a
 * raw newline (JSON escapes them inside strings), so the line reads back as one record.
 * @param record - Any JSON-serialisable value, typically one of the dataset record types.
 * @returns The line, ending in `\n`.
 * @throws An {@link InputError} when `record` has no JSON form (`undefined`, a function, a symbol)
 *   or cannot be serialised (a cycle, a `BigInt`).
 */
export function writeJsonlLine(record: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(record);
  } catch (e) {
    throw new InputError('record', record, `cannot be serialised as JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (json === undefined) throw new InputError('record', record, 'has no JSON form');
  return `${json}\n`;
}
