/**
 * What the library's local pages (`WebLabeler`, `TamerPage`) share: the address and session-token
 * options, the token generator, and the security headers of every reply.
 * @module
 * @internal
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ConfigError } from '../errors';

/** Address and token options of a local page server. */
export interface LocalServerOptions {
  /** Port; 0 picks a free one. */
  port?: number;
  /** Interface to bind. */
  host?: string;
  /** Session token every request must carry. */
  token?: string;
}

/** `bytes` random bytes as hex (Web Crypto, in Node and browsers). */
export function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Validates port, host and token once; defaults: a free port, 127.0.0.1, 32 random hex digits. */
export function checkServerAddress(o: LocalServerOptions): { port: number; host: string; token: string } {
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('port', port, 'must be an integer in [0, 65535] (0 = any free port)');
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new ConfigError('host', host, 'must be a non-empty string');
  const token = o.token ?? randomHex(16);
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{16,256}$/.test(token)) {
    throw new ConfigError('token', o.token, 'must be 16 to 256 characters from A-Z a-z 0-9 _ -');
  }
  return { port, host, token };
}

/** Headers of every reply; a page sets its own Content-Security-Policy, everything else `default-src 'none'`. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Starts a `node:http` server (imported lazily) on `address` and resolves once it listens, with the
 * port it got (the one asked for, or a free one for 0).
 */
export async function listenLocal(
  address: { port: number; host: string },
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number }> {
  const http = await import('node:http');
  const server = http.createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const a = server.address();
  return { server, port: typeof a === 'object' && a !== null ? a.port : address.port };
}
