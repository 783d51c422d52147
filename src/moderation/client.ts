/**
 * `moderationClient`: a {@link Moderator} backed by an OpenAI-compatible `POST /v1/moderations`
 * endpoint (OpenAI, or another {@link servePolicy} given a moderator), with a timeout and a bound on
 * the response size.
 * @module
 */
import { ConfigError, RlhfError } from '../errors';
import { checkInteger } from '../ops/validate';
import type { Moderator, ModerationResult } from './types';

/** A moderation endpoint failed (HTTP error, timeout, oversized or malformed answer). Callers fail closed. */
export class ModerationError extends RlhfError {
  /** @param message - what went wrong (prefixed with `moderation endpoint: `). */
  constructor(message: string) {
    super(`moderation endpoint: ${message}`);
    this.name = 'ModerationError';
  }
}

/** Options of {@link moderationClient}. */
export interface ModerationClientOptions {
  /** Base URL up to and including `/v1`, e.g. `"https://api.openai.com/v1"`; `/moderations` is appended. Required. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set. Default: none. */
  apiKey?: string;
  /** Model name sent with each request. Default: not sent (the server's default). */
  model?: string;
  /** Give up on a request after this many milliseconds; integer >= 1. Default `10000`. */
  timeoutMs?: number;
  /** Largest response body read, in bytes (larger: {@link ModerationError}); integer >= 1. Default `1048576`. */
  maxResponseBytes?: number;
  /** The `fetch` to use (tests, proxies). Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** Reads at most `max` bytes of a response body as text; more throws {@link ModerationError}. */
async function readBounded(res: Response, max: number, controller: AbortController): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      controller.abort();
      throw new ModerationError(`response larger than maxResponseBytes = ${max}`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** The first result of a `/v1/moderations` answer, checked. */
function parseResult(text: string): ModerationResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ModerationError('the answer is not JSON');
  }
  const r = (json as { results?: unknown[] } | null)?.results?.[0] as Record<string, unknown> | undefined;
  if (typeof r !== 'object' || r === null || typeof r.flagged !== 'boolean' || typeof r.categories !== 'object' || r.categories === null) {
    throw new ModerationError('the answer has no results[0] with flagged and categories');
  }
  const categories: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(r.categories as Record<string, unknown>)) categories[k] = v === true;
  const scores = r.category_scores;
  const categoryScores: Record<string, number> = {};
  if (typeof scores === 'object' && scores !== null) {
    for (const [k, v] of Object.entries(scores as Record<string, unknown>)) if (typeof v === 'number' && Number.isFinite(v)) categoryScores[k] = v;
  }
  return { flagged: r.flagged, categories, categoryScores };
}

/**
 * A {@link Moderator} that asks an OpenAI-compatible moderation endpoint: `POST {baseUrl}/moderations`
 * with `{ input: text, model? }`, reading `results[0]`. It throws {@link ModerationError} on an HTTP
 * error, a timeout, an answer over `maxResponseBytes` or a malformed answer, so a server using it
 * refuses to answer (fails closed) rather than skipping the check.
 * @throws {@link ConfigError} for invalid options.
 */
export function moderationClient(options: ModerationClientOptions): Moderator {
  if (typeof options !== 'object' || options === null) throw new ConfigError('ModerationClientOptions', options, 'must be an object');
  const { baseUrl, apiKey, model } = options;
  if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) throw new ConfigError('ModerationClientOptions.baseUrl', baseUrl, 'must be an http(s) URL');
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey === '')) throw new ConfigError('ModerationClientOptions.apiKey', '<hidden>', 'must be a non-empty string');
  if (model !== undefined && (typeof model !== 'string' || model === '')) throw new ConfigError('ModerationClientOptions.model', model, 'must be a non-empty string');
  const timeoutMs = checkInteger('ModerationClientOptions.timeoutMs', options.timeoutMs ?? 10_000, 1);
  const maxBytes = checkInteger('ModerationClientOptions.maxResponseBytes', options.maxResponseBytes ?? 1 << 20, 1);
  const url = `${baseUrl.replace(/\/+$/, '')}/moderations`;
  const doFetch = options.fetch ?? fetch;
  return async (text: string): Promise<ModerationResult> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
    try {
      const res = await doFetch(url, { method: 'POST', headers, body: JSON.stringify({ input: text, ...(model ? { model } : {}) }), signal: controller.signal });
      const body = await readBounded(res, maxBytes, controller);
      if (res.status < 200 || res.status >= 300) throw new ModerationError(`HTTP ${res.status}: ${body.slice(0, 200)}`);
      return parseResult(body);
    } catch (e) {
      if (e instanceof ModerationError) throw e;
      if (controller.signal.aborted) throw new ModerationError(`no answer within timeoutMs = ${timeoutMs}`);
      throw new ModerationError(`request failed: ${(e instanceof Error ? e.message : String(e)).slice(0, 200)}`);
    } finally {
      clearTimeout(timer);
    }
  };
}
