/**
 * Small HTTP helpers of the policy server: OpenAI-style error objects, JSON replies, bounded body
 * reads and a one-at-a-time queue. Only type imports of `node:http` here, so bundling is harmless.
 * @internal
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RlhfError } from '../errors';

/** A request the server refuses, rendered as an OpenAI-style error object with an HTTP status. */
export class ApiError extends RlhfError {
  constructor(
    /** HTTP status, e.g. `400`. */
    readonly status: number,
    message: string,
    /** OpenAI error type, e.g. `"invalid_request_error"`. */
    readonly type: string = 'invalid_request_error',
    /** The request field at fault, e.g. `"messages[1].role"`, or `null`. */
    readonly param: string | null = null,
    /** Machine-readable code, e.g. `"context_length_exceeded"`, or `null`. */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** The JSON body of an error reply: `{ error: { message, type, param, code } }`. */
export function errorBody(e: ApiError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads the request body as UTF-8 text; rejects with a 413 {@link ApiError} past `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new ApiError(413, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`));
      req.resume();
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        reject(new ApiError(413, `request body exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(parts).toString('utf8'));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

/** Parses a JSON request body; a 400 {@link ApiError} when it is not JSON. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'request body is not valid JSON');
  }
}

/** Compares two strings in time independent of where they first differ. */
export function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/** Runs tasks one at a time, in the order they were queued. */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Queues `task`; resolves or rejects with its outcome once it has run. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}
