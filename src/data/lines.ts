/**
 * Internal: splitting a stream of string or byte chunks into lines. See `jsonl.ts` for the rules.
 * @internal
 * @module
 */
import { FileFormatError, InputError } from '../errors';

/**
 * Where JSONL comes from: a Node.js file path, an async iterable of chunks (strings or UTF-8 bytes,
 * e.g. a Node.js `Readable` or an async generator), or a web `ReadableStream` of bytes.
 */
export type JsonlSource = string | AsyncIterable<string | Uint8Array> | ReadableStream<Uint8Array>;

const NEWLINE = 10;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type Chunk = string | Uint8Array;

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array || Object.prototype.toString.call(v) === '[object Uint8Array]';
}

/**
 * Whether `v` looks like a web `ReadableStream` (has `getReader`).
 * @param v - Any value.
 * @returns `true` for a stream-like object.
 * @internal
 */
export function isReadableStream(v: unknown): v is ReadableStream<Uint8Array> {
  return typeof v === 'object' && v !== null && typeof (v as { getReader?: unknown }).getReader === 'function';
}

/**
 * Whether `v` is an async iterable (has `Symbol.asyncIterator`).
 * @param v - Any value.
 * @returns `true` for an async iterable.
 * @internal
 */
export function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return (
    typeof v === 'object' && v !== null && typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/**
 * Yields the raw chunks of a source, releasing the file or stream if the consumer stops early.
 * A path is read with `node:fs`, imported lazily.
 * @param source - A path, an async iterable of chunks, or a `ReadableStream`.
 * @returns The chunks, unchecked.
 * @internal
 */
export async function* chunksOf(source: JsonlSource): AsyncGenerator<unknown> {
  if (typeof source === 'string') {
    const fs = await import('node:fs');
    const stream = fs.createReadStream(source);
    try {
      yield* stream;
    } finally {
      stream.destroy();
    }
  } else if (isReadableStream(source)) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  } else {
    yield* source;
  }
}

/** Decodes the pieces of one line; adjacent byte pieces are joined first so split characters survive. */
function decodeLine(parts: readonly Chunk[], file: string, line: number): string {
  let text = '';
  let bytes: Uint8Array[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    let joined = bytes[0] as Uint8Array;
    if (bytes.length > 1) {
      joined = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of bytes) {
        joined.set(b, at);
        at += b.length;
      }
    }
    try {
      text += utf8.decode(joined);
    } catch {
      throw new FileFormatError(file, 'line is not valid UTF-8', line);
    }
    bytes = [];
  };
  for (const p of parts) {
    if (typeof p === 'string') {
      flush();
      text += p;
    } else {
      bytes.push(p);
    }
  }
  flush();
  return text;
}

/** The piece `[start, end)` of a chunk; bytes are viewed, not copied. */
function cut(chunk: Chunk, start: number, end: number): Chunk {
  return typeof chunk === 'string' ? chunk.slice(start, end) : chunk.subarray(start, end);
}

/**
 * One complete line of text and its 1-based number.
 * @internal
 */
export interface Line {
  /** The decoded line, without its `\n` (a `\r` before it is kept). */
  text: string;
  /** 1-based line number. */
  line: number;
}

/**
 * Splits a stream of chunks into lines (without their `\n`), holding only the current line.
 * Byte pieces of a line are decoded together, as strict UTF-8.
 * @param chunks - String or `Uint8Array` chunks.
 * @param file - Name for error messages.
 * @param maxLen - Longest accepted line, in bytes or characters.
 * @returns The lines, including blank ones.
 * @throws A {@link FileFormatError} for invalid UTF-8 or an over-long line; an {@link InputError}
 *   for a chunk of another type.
 * @internal
 */
export async function* linesOf(chunks: AsyncIterable<unknown>, file: string, maxLen: number): AsyncGenerator<Line> {
  let parts: Chunk[] = [];
  let length = 0;
  let line = 1;
  const add = (piece: Chunk): void => {
    length += piece.length;
    if (length > maxLen) {
      throw new FileFormatError(file, `line is longer than maxLineLength = ${maxLen}; raise the maxLineLength option if this is intended`, line);
    }
    if (piece.length > 0) parts.push(piece);
  };
  let index = 0;
  for await (const chunk of chunks) {
    if (typeof chunk !== 'string' && !isBytes(chunk)) {
      throw new InputError(`chunk ${index} of ${file}`, chunk, 'must be a string or a Uint8Array');
    }
    index++;
    let start = 0;
    for (;;) {
      const end = typeof chunk === 'string' ? chunk.indexOf('\n', start) : chunk.indexOf(NEWLINE, start);
      if (end < 0) break;
      add(cut(chunk, start, end));
      yield { text: decodeLine(parts, file, line), line };
      parts = [];
      length = 0;
      line++;
      start = end + 1;
    }
    if (start < chunk.length) add(start === 0 ? chunk : cut(chunk, start, chunk.length));
  }
  if (parts.length > 0) yield { text: decodeLine(parts, file, line), line };
}

