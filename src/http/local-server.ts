/**
 * The one HTTP layer of the library's local servers (`servePolicy`, `WebLabeler`, `TamerPage`):
 * address and token options, the Host and Content-Type guards, bounded body reads, JSON replies with
 * security headers, and a listener with short timeouts that warns when it is reachable from other
 * machines. Only type imports of `node:http` here (the module is imported lazily), so bundling is harmless.
 *
 * The rules every server applies:
 * - it binds to 127.0.0.1 unless told otherwise, and logs a warning when bound elsewhere;
 * - it answers only requests whose `Host` header names this machine (127.0.0.1, localhost, [::1], the
 *   bound address itself) or a name in `allowedHosts`, with its own port: a web page that rebinds its
 *   own DNS name to 127.0.0.1 gets a 403 (DNS-rebinding protection);
 * - a POST body must be `Content-Type: application/json` (415 otherwise), so a cross-site `no-cors`
 *   "simple" request (text/plain, form data) never runs;
 * - bodies are capped (413), and request, header and keep-alive timeouts are seconds, not Node's 300 s.
 * @internal
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ConfigError, RlhfError } from '../errors';
import type { Logger } from '../logging/logger';

/** A request the server refuses, with its HTTP status (rendered per server, e.g. as an OpenAI error object). */
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
    /** Extra reply headers, e.g. `{ 'Retry-After': '1' }`. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Address, token and Host options shared by the local servers. */
export interface LocalServerOptions {
  /** Port; 0 picks a free one. */
  port?: number;
  /** Interface to bind. */
  host?: string;
  /** Session token every request must carry. */
  token?: string;
  /** Host names accepted in the `Host` header besides the loopback ones; `'*'` accepts any. */
  allowedHosts?: readonly string[];
}

/** Validated address options. */
export interface ServerAddress {
  /** Port to bind (0: any free one). */
  port: number;
  /** Interface to bind. */
  host: string;
  /** Lower-cased host names accepted in the `Host` header (the loopback ones, the bound host, `allowedHosts`). */
  allowedHosts: ReadonlySet<string>;
}

/** Reply headers of every JSON answer; a page sets its own Content-Security-Policy. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Server timeouts, ms: whole request, headers, idle keep-alive (Node's defaults: 300 s, 60 s, 5 s). */
export const SERVER_TIMEOUTS = { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 } as const;

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]']);

/** `bytes` random bytes as hex (Web Crypto, in Node and browsers). */
export function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** `host` as it appears in a URL or a `Host` header: IPv6 literals in brackets, lower case. */
export function urlHost(host: string): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/** Whether `host` (a bind address) reaches only this machine. */
export function isLoopback(host: string): boolean {
  const h = urlHost(host);
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Validates port, host and `allowedHosts` once; defaults: a free port, 127.0.0.1, loopback names only. */
export function checkAddress(o: LocalServerOptions): ServerAddress {
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('port', port, 'must be an integer in [0, 65535] (0 = any free port)');
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new ConfigError('host', host, 'must be a non-empty string');
  const extra = o.allowedHosts ?? [];
  if (!Array.isArray(extra) || !extra.every((h) => typeof h === 'string' && /^(\*|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)$/.test(h))) {
    throw new ConfigError('allowedHosts', o.allowedHosts, "must be an array of host names without port (e.g. 'my-box.lan', '192.168.1.5', '[fe80::1]') or ['*']");
  }
  const allowed = new Set([...LOOPBACK_NAMES, ...extra.map(urlHost)]);
  if (!WILDCARD_BINDS.has(urlHost(host))) allowed.add(urlHost(host));
  return { port, host, allowedHosts: allowed };
}

/** {@link checkAddress} plus the session token (default: 32 random hex digits). */
export function checkServerAddress(o: LocalServerOptions): ServerAddress & { token: string } {
  const address = checkAddress(o);
  const token = o.token ?? randomHex(16);
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{16,256}$/.test(token)) {
    throw new ConfigError('token', o.token, 'must be 16 to 256 characters from A-Z a-z 0-9 _ -');
  }
  return { ...address, token };
}

/**
 * Refuses (403) a request whose `Host` header is not an allowed name with this server's port.
 * @throws {@link ApiError} 403.
 */
export function checkHost(req: IncomingMessage, allowed: ReadonlySet<string>, port: number): void {
  if (allowed.has('*')) return;
  const header = req.headers.host ?? '';
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(header);
  const ok = m !== null && allowed.has((m[1] as string).toLowerCase()) && Number(m[2] ?? 80) === port;
  if (!ok) throw new ApiError(403, `Host header ${JSON.stringify(header.slice(0, 100))} is not allowed: use http://127.0.0.1:${port}/ (or list the name in the allowedHosts option)`, 'invalid_request_error', null, 'host_not_allowed');
}

/**
 * Refuses (415) a body that is not declared `application/json` (parameters such as `charset` allowed).
 * @throws {@link ApiError} 415.
 */
export function requireJson(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ApiError(415, 'Content-Type must be application/json', 'invalid_request_error', null, 'unsupported_media_type');
  }
}

/** Sends `body` as JSON with `status`, the security headers and `headers`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS, 'Content-Security-Policy': "default-src 'none'", ...headers,
    'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text),
  });
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

/** {@link requireJson}, then {@link readBody} and {@link parseJsonBody}: the JSON body of a POST. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  requireJson(req);
  return parseJsonBody(await readBody(req, maxBytes));
}

/** Compares two strings in time independent of where they first differ. */
export function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/**
 * Starts a `node:http` server (imported lazily) on `address` with {@link SERVER_TIMEOUTS} and resolves
 * once it listens, with the port it got. Every request first passes {@link checkHost}; a refusal is
 * answered by `refuse`. Logs a warning when the address is not loopback.
 */
export async function listenLocal(
  address: ServerAddress,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  refuse: (res: ServerResponse, e: ApiError) => void,
  logger: Logger,
  name: string,
): Promise<{ server: Server; port: number; url: string }> {
  const http = await import('node:http');
  let port = address.port;
  const server = http.createServer((req, res) => {
    try {
      checkHost(req, address.allowedHosts, port);
    } catch (e) {
      logger.log('warn', `${name}: refused ${req.method ?? '?'} (${(e as Error).message})`);
      return refuse(res, e as ApiError);
    }
    onRequest(req, res);
  });
  Object.assign(server, SERVER_TIMEOUTS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  port = typeof a === 'object' && a !== null ? a.port : address.port;
  if (!isLoopback(address.host)) {
    logger.log('warn', `${name} is bound to ${address.host}, so other machines can reach it; bind to 127.0.0.1 unless that is intended`, { host: address.host, port });
  }
  return { server, port, url: `http://${urlHost(address.host)}:${port}` };
}
