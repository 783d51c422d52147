/**
 * Durable JSON Lines logs: each record is appended as one line and fsynced before the call resolves,
 * so a record that was reported saved survives a crash of the process (and, on file systems that
 * honour fsync, of the machine). Reading back tolerates the one kind of damage such a crash can leave:
 * a torn last line.
 *
 * Crash rules (see {@link readDurableJsonl}):
 * - A final line without `\n` that does not parse as JSON is a torn write. It is reported through the
 *   logger (`warn`) and, when `repair` is on (the default), truncated away so the next append starts
 *   on a fresh line. Its record was never reported saved, so nothing saved is lost.
 * - A final line without `\n` that parses is a complete record whose newline was cut off: it is kept,
 *   and `repair` appends the missing `\n`.
 * - Any complete line (ending in `\n`) that is not valid JSON or UTF-8 is corruption, never a crash
 *   artefact: a {@link FileFormatError} naming `file:line`. Nothing is dropped silently.
 *
 * Node.js only; `node:fs` is imported lazily, so importing this module is harmless in a browser bundle.
 * @module
 */
import { FileFormatError } from '../../errors';
import { writeJsonlLine } from '../../data/jsonl';
import type { Logger } from '../../logging/logger';
import { errorCode, syncDir } from '../../io/atomic';

type FsPromises = typeof import('node:fs/promises');

/** One record read back from a durable log. */
export interface DurableRecord {
  /** The parsed JSON value of the line. */
  value: unknown;
  /** Its 1-based line number. */
  line: number;
}

/** Options of {@link readDurableJsonl}. */
export interface ReadDurableOptions {
  /** Receives the torn-line warning. Default: the silent logger. */
  logger?: Logger;
  /**
   * Truncate a torn last line away and add a missing final `\n`, so appends can follow. Default `true`.
   * With `false` the file is left untouched (the torn line is still reported and ignored).
   */
  repair?: boolean;
}

/** What {@link readDurableJsonl} found. */
export interface DurableContents {
  /** The complete records, in file order. */
  records: DurableRecord[];
  /** The torn last line that was ignored, if any: its line number and length in bytes. */
  torn?: {
    /** 1-based line number of the torn line. */
    line: number;
    /** Its length in bytes. */
    bytes: number;
  };
}

const BLANK = /^[ \t\r]*$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes and parses one line; `undefined` for a blank line; throws the reason otherwise. */
function parseLine(bytes: Uint8Array): { value: unknown } | undefined {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new Error('invalid UTF-8');
  }
  if (BLANK.test(text)) return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (e) {
    throw new Error(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Splits the file into lines; the last entry is the unterminated tail (possibly empty). */
function splitLines(bytes: Uint8Array): { lines: Uint8Array[]; tail: Uint8Array; tailStart: number } {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return { lines, tail: bytes.subarray(start), tailStart: start };
}

/**
 * Reads a log written by {@link appendDurable}, tolerating a torn last line (see the module notes).
 * A missing file reads as empty. The whole file is read into memory.
 * @param path - The JSONL file.
 * @param options - See {@link ReadDurableOptions}.
 * @returns The records and, if one was found, the torn tail that was ignored.
 * @throws A {@link FileFormatError} naming `file:line` for a complete line that is not valid UTF-8 or
 *   JSON; the Node.js error when the file cannot be read or repaired.
 */
export async function readDurableJsonl(path: string, options: ReadDurableOptions = {}): Promise<DurableContents> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path));
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return { records: [] };
    throw e;
  }
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  bytes = bytes.subarray(bom);
  const { lines, tail, tailStart } = splitLines(bytes);
  const records: DurableRecord[] = [];
  lines.forEach((line, i) => {
    let parsed: { value: unknown } | undefined;
    try {
      parsed = parseLine(line);
    } catch (e) {
      throw new FileFormatError(path, (e as Error).message, i + 1);
    }
    if (parsed !== undefined) records.push({ value: parsed.value, line: i + 1 });
  });
  if (tail.length === 0) return { records };
  const tailLine = lines.length + 1;
  const repair = options.repair ?? true;
  let parsed: { value: unknown } | undefined;
  try {
    parsed = parseLine(tail);
  } catch {
    options.logger?.log('warn', `${path}:${tailLine}: ignoring a torn last line (${tail.length} bytes, no newline, not valid JSON) left by an interrupted write${repair ? '; truncated it away' : ''}`,
      { file: path, line: tailLine, bytes: tail.length });
    if (repair) await truncateTo(fs, path, bom + tailStart);
    return { records, torn: { line: tailLine, bytes: tail.length } };
  }
  if (parsed !== undefined) records.push({ value: parsed.value, line: tailLine });
  if (repair) await appendBytes(fs, path, '\n');
  return { records };
}

async function truncateTo(fs: FsPromises, path: string, length: number): Promise<void> {
  const handle = await fs.open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function appendBytes(fs: FsPromises, path: string, data: string): Promise<boolean> {
  let created = false;
  try {
    await fs.access(path);
  } catch {
    created = true;
    const { dirname } = await import('node:path');
    await fs.mkdir(dirname(path), { recursive: true });
  }
  const handle = await fs.open(path, 'a');
  try {
    await handle.write(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return created;
}

/**
 * Appends one record as a JSON line and makes it durable: the file is opened for appending, the line
 * written in one call, fsynced and closed before this resolves. When the call creates the file, its
 * directory is fsynced too, so the new file's name survives a crash. Callers must not run two appends
 * to the same file at once (the collector appends one record at a time).
 * @param path - The JSONL file; created if missing, with its folder.
 * @param record - Any JSON-serialisable value.
 * @throws An `InputError` when `record` has no JSON form; the Node.js error when the file cannot be
 *   written.
 */
export async function appendDurable(path: string, record: unknown): Promise<void> {
  const line = writeJsonlLine(record);
  const fs = await import('node:fs/promises');
  const created = await appendBytes(fs, path, line);
  if (created) {
    const { dirname } = await import('node:path');
    await syncDir(fs, dirname(path));
  }
}
